import { createHmac } from 'node:crypto';

// C0 and C1 controls, DEL, and the two Unicode line separators: none may reach a log line.
/* eslint-disable no-control-regex -- matching control characters is the point */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/* eslint-enable no-control-regex */

/** The marker that replaces a value authtrail will not log. */
export const REDACTED = '[redacted]';

/**
 * Untrusted text made safe to log: non-strings give `undefined`, the length is bounded (counted
 * before stripping, so a huge value costs one slice), control characters are removed.
 */
export function clean(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.length > max ? value.slice(0, max) : value;
  return HAS_CONTROL.test(s) ? s.replace(CONTROL, '') : s;
}

/** Keyed HMAC-SHA-256, base64url, first 128 bits: a stable, non-reversible handle for a secret. */
export function keyedHash(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');
}

/**
 * A query string with every parameter outside `allow` replaced by `[redacted]`. Parameter names
 * are kept (bounded) so the shape of the request stays visible; values only when allow-listed.
 */
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
    const safeName = clean(name, 64) ?? '';
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
