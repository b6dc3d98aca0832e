import { createHmac } from 'node:crypto';

// C0 and C1 controls, DEL, the two Unicode line separators, and the bidirectional marks and
// overrides (which make a log viewer show text other than what is there): none may reach a log line.
/* eslint-disable no-control-regex -- matching control characters is the point */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// Cheap first test: a control character, or any surrogate (paired or not, checked only then).
const SUSPECT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;
/* eslint-enable no-control-regex */
// A UTF-16 surrogate without its other half. Claims can carry one (`"\ud800"` is valid JSON) and a
// slice at `max` can split a pair; JSON.stringify then writes a `\udXXX` escape that strict JSON
// readers (serde_json, and with it Vector and other log shippers) reject, so one hostile claim could
// make an audit line unreadable. Replaced by U+FFFD, as a UTF-8 decoder would.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The marker that replaces a value authtrail will not log. */
export const REDACTED = '[redacted]';

/**
 * Untrusted text made safe to log: non-strings give `undefined`, the length is bounded (counted
 * before stripping, so a huge value costs one slice), control characters are removed and lone
 * surrogates become U+FFFD, so the result is well-formed Unicode.
 */
export function clean(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.length > max ? value.slice(0, max) : value;
  // Controls go first: removing one may rejoin the two halves of a pair.
  return SUSPECT.test(s) ? s.replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd') : s;
}

/** Keyed HMAC-SHA-256, base64url, first 128 bits: a stable, non-reversible handle for a secret. */
export function keyedHash(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');
}

/**
 * A query string with every parameter outside `allow` replaced by `[redacted]`. Parameter names
 * are kept (bounded) so the shape of the request stays visible; values only when allow-listed.
 */
const PARAM_NAME = /^[\w.\-[\]]{1,32}$/;

export function redactQuery(query: string, allow: ReadonlySet<string>, max: number): string {
  let out = '';
  for (const pair of query.split('&', 32)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    // Names are kept, but a secret sent as a name (`/cb?eyJhbGci...`) must not be: anything longer
    // than a parameter name usually is, or with other characters, is redacted too.
    const safeName = PARAM_NAME.test(name) ? name : REDACTED;
    let value = REDACTED;
    if (allow.has(name) && eq !== -1) {
      try {
        value = clean(decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' ')), 256) ?? '';
      } catch {
        value = REDACTED;
      }
    }
    out += (out === '' ? '' : '&') + safeName + '=' + value;
    if (out.length > max) return out.slice(0, max);
  }
  return out;
}

/** A bounded list of clean strings from a claim that may be a string, a list, or anything else. */
export function cleanList(
  value: unknown,
  maxItems: number,
  maxLength: number,
): string[] | undefined {
  let items: unknown[];
  if (typeof value === 'string') items = value.split(' ', maxItems);
  else if (Array.isArray(value)) items = value.length > maxItems ? value.slice(0, maxItems) : value;
  else return undefined;
  const out: string[] = [];
  for (const item of items) {
    const s = clean(item, maxLength);
    if (s) out.push(s);
  }
  return out.length > 0 ? out : undefined;
}
