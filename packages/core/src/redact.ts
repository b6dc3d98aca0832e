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
    // than a parameter name usually is, with other characters, or that looks like a credential
    // (`?<28 random characters>`) is redacted too.
    const safeName = PARAM_NAME.test(name) && !looksSecret(name) ? name : REDACTED;
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

// A credential has to carry enough randomness to be one: 16 base64url characters are 96 bits, the
// least a session id or reset token is generated with (OWASP asks for 64 bits of entropy). Shorter
// runs cannot be told from ids and words, and are kept.
const MIN_SECRET_RUN = 16;

/** 1 lower-case letter, 2 upper-case letter, 3 digit, 0 `-` or `_`, -1 outside the base64url alphabet. */
function charClass(c: number): number {
  if (c >= 97 && c <= 122) return 1;
  if (c >= 65 && c <= 90) return 2;
  if (c >= 48 && c <= 57) return 3;
  return c === 45 || c === 95 ? 0 : -1;
}

// a e i o u y, as bits from a; y counts as a vowel: `rhythm`, `crypto`, `sync` are words.
const VOWELS = 0x1104111;
const isVowel = (c: number) => ((VOWELS >>> ((c | 0x20) - 97)) & 1) === 1;
const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const HEX = /^(?:[\da-f]+|[\dA-F]+)$/;

/**
 * Whether one run of the base64url alphabet, 16 characters or more, looks generated rather than
 * written. Written text is words: camelCase, kebab-case or snake_case pieces of four letters or more
 * on average, pronounceable, with digits in a group or two (`permissionGroups`, `top-10-tips-for-2024`,
 * `sha256WithRSAEncryption`). Generated text is not. Measured on 50,000 random tokens of each kind, a
 * run passes for written with 0.3% of 16-character base64url tokens, 0.2% of 22-character ones (128
 * bits, nanoid), 0.02% of 32-character ones and of 24-character base58 ones (Rails), none of 43
 * characters, 0.07% of 16-digit hex (those that are all digits), never with 32-digit hex, a UUID or a
 * JWT. Of 12,855 TypeScript identifiers of 16 characters or more (node_modules' .d.ts files), 1.4%
 * are taken for generated (`CipherChaCha20Poly1305`), of 148 kebab-case package names none.
 */
function generated(run: string): boolean {
  if (run.startsWith('eyJ') || UUID.test(run)) return true; // a JWT (`{"` in base64url), a UUID
  if (HEX.test(run) && /\d/.test(run) && /[a-f]/i.test(run)) return true;
  let chars = 0; // letters and digits
  let words = 1; // pieces started inside the run: at a capital, at a letter/digit border
  let borders = 0; // letter/digit borders
  let consonants = 0; // in a row, within a word
  let capitals = 0; // in a row
  let mostCapitals = 0;
  let lowerCase = false;
  let prev = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    const k = charClass(c);
    if (k === 0) {
      prev = 0;
      consonants = 0;
      capitals = 0;
      continue;
    }
    chars++;
    if (prev !== 0 && (k === 3) !== (prev === 3)) {
      words++;
      borders++;
      consonants = 0;
    } else if (k === 2 && prev === 1) {
      words++; // camelCase
      consonants = 0;
    } else if (k === 1 && prev === 2 && i >= 2 && charClass(run.charCodeAt(i - 2)) === 2) {
      words++; // the capital that ends an acronym starts a word: XMLHttp is XML, Http
      consonants = isVowel(run.charCodeAt(i - 1)) ? 0 : 1;
    }
    if (k === 2) mostCapitals = Math.max(mostCapitals, ++capitals);
    else capitals = 0;
    if (k === 1) lowerCase = true;
    if (k === 3 || isVowel(c)) consonants = 0;
    else if (++consonants >= 6) return true; // `strengths` has 5
    prev = k;
  }
  return chars < 4 * words || borders * 8 >= chars || (lowerCase && mostCapitals >= 6);
}

/**
 * Whether text holds a run that looks like a credential: a stretch of 16 or more characters of
 * the base64url alphabet (letters, digits, `-`, `_`; hex and UUIDs included) that is a JWT, a UUID,
 * hex with letters and digits, or otherwise generated rather than written (see `generated`).
 */
export function looksSecret(text: string): boolean {
  if (text.length < MIN_SECRET_RUN) return false;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && charClass(text.charCodeAt(i)) !== -1) continue;
    if (i - start >= MIN_SECRET_RUN && generated(text.slice(start, i))) return true;
    start = i + 1;
  }
  return false;
}

/** `%XX` escapes decoded one byte each, never throwing: enough to judge ASCII runs and `@`. */
function percentDecode(s: string): string {
  return s.replace(/%([\da-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** `local@domain.tld`: an e-mail address, however it is encoded. */
function holdsEmail(s: string): boolean {
  const at = s.indexOf('@');
  const dot = at > 0 ? s.indexOf('.', at + 2) : -1;
  return dot !== -1 && dot < s.length - 1;
}

/** One path segment as it may be logged: the segment itself, `[redacted]`, or what precedes `;`. */
function redactSegment(segment: string, emails: boolean): string {
  // Matrix parameters (`/app;jsessionid=...`): servlet containers read session ids there.
  const semi = segment.indexOf(';');
  const head = semi === -1 ? segment : segment.slice(0, semi);
  // Judged as sent and as decoded: `%65yJ...` is a JWT once a server decodes it.
  const decoded = head.includes('%') ? percentDecode(head) : head;
  if (
    looksSecret(head) ||
    (decoded !== head && looksSecret(decoded)) ||
    (emails && holdsEmail(decoded))
  )
    return REDACTED;
  return semi === -1 ? segment : `${head};${REDACTED}`;
}

/**
 * A URL path as it may be logged: bounded to `max`, control characters removed, and every segment
 * that may hold a credential replaced by `[redacted]` (see {@link looksSecret}; everything after a
 * `;` in a segment; with `emails`, a segment holding an e-mail address). A request target in
 * absolute form (`http://user:pass@host/p`) keeps only its path. A path cut at `max` loses its cut
 * last segment, which could be the first half of a token. Most paths are short with short segments:
 * they are returned as they are, without a regular expression or a copy.
 *
 * Give it the path without its query and fragment.
 * @example
 * redactPath('/reset-password/eyJhbGciOiJIUzI1NiJ9.e30.sig', 1024, false); // '/reset-password/[redacted]'
 */
export function redactPath(path: string, max: number, emails: boolean): string {
  const cut = path.length > max;
  // A cut path keeps room for the `[redacted]` that replaces its cut segment.
  let p = clean(cut ? path.slice(0, max - REDACTED.length) : path, max) ?? '';
  if (p.charCodeAt(0) !== 47 /* / */) {
    const authority = p.indexOf('://');
    if (authority !== -1) {
      const slash = p.indexOf('/', authority + 3);
      p = slash === -1 ? '/' : p.slice(slash);
    }
  }
  const marks = p.includes(';') || (emails && (p.includes('@') || p.includes('%')));
  if (!cut && !marks && p.length < MIN_SECRET_RUN) return p;
  let out: string | undefined; // built only once a segment changes
  let copied = 0; // p up to here is in out
  let start = 0;
  while (start <= p.length) {
    let end = p.indexOf('/', start);
    if (end === -1) end = p.length;
    const last = end === p.length;
    if (end - start >= MIN_SECRET_RUN || (marks && end > start) || (cut && last)) {
      const segment = p.slice(start, end);
      const safe = cut && last && segment !== '' ? REDACTED : redactSegment(segment, emails);
      if (safe !== segment) {
        out = (out ?? '') + p.slice(copied, start) + safe;
        copied = end;
      }
    }
    start = end + 1;
  }
  if (out === undefined) return p;
  out += p.slice(copied);
  return out.length > max ? out.slice(0, max) : out;
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
