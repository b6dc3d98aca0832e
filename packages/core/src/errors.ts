/** Stable codes carried by every {@link AuthtrailError}. Match on `code`, not on `instanceof`. */
export type AuthtrailErrorCode =
  /** A factory's options (the auditor's, an adapter's, a sink's) have problems: every one is in `issues`. */
  | 'ERR_AUTHTRAIL_INVALID_OPTIONS'
  /** `record()` was given an event it cannot record: a type of the wrong shape, or fields the auditor sets. */
  | 'ERR_AUTHTRAIL_INVALID_EVENT'
  /** `record()` after `close()`. */
  | 'ERR_AUTHTRAIL_CLOSED'
  /** `keys.chain: { sealing }`: the sealing state file is missing, corrupt, open to others or not writable. */
  | 'ERR_AUTHTRAIL_SEALING_STATE'
  /** An HTTP sink's write failed; the error's `url` (scheme, host, port) and `status` (if answered) say where. */
  | 'ERR_AUTHTRAIL_SINK_WRITE';

/**
 * One problem found while validating options: where, what was received (described by
 * {@link shapeOf}, never the value itself), and how to fix it.
 */
export interface OptionIssue {
  readonly path: string;
  readonly received: string;
  readonly fix: string;
}

const BRAND = Symbol.for('authtrail.error');

/**
 * The only error type authtrail throws. Thrown at startup for a broken configuration and by
 * `record()` for an event that cannot be recorded; never at request time. HTTP sinks reject a
 * failed write with it, which the delivery queue retries and publishes on `authtrail:sink-error`.
 */
export class AuthtrailError extends Error {
  /**
   * `instanceof` holds for an error of any copy of this class: an app can load two (the ESM and the
   * CommonJS build, or the CommonJS builds of `@authtrail/core` and `@authtrail/core/sink`, which
   * each bundle their own), and an error thrown by one must still be an `AuthtrailError` to the other.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && BRAND in value;
  }

  readonly code: AuthtrailErrorCode;
  /** For `ERR_AUTHTRAIL_INVALID_OPTIONS`: every problem found, not only the first; empty otherwise. */
  readonly issues: readonly OptionIssue[];
  // `declare`: typed here, set only by the errors that have them (no own property on the others).
  /** For `ERR_AUTHTRAIL_SINK_WRITE`: where the write went, scheme, host and port only (the path can be a credential). */
  declare readonly url?: string;
  /** For `ERR_AUTHTRAIL_SINK_WRITE`: the HTTP status the collector answered; absent for a network error or a timeout. */
  declare readonly status?: number;

  constructor(code: AuthtrailErrorCode, message: string, issues: readonly OptionIssue[] = []) {
    super(message);
    this.name = 'AuthtrailError';
    this.code = code;
    this.issues = issues;
  }
}
// On the prototype, so every copy's errors carry it and their own properties stay as they were.
Object.defineProperty(AuthtrailError.prototype, BRAND, { value: true });

// A word as enum options take them (`'spill'`, `'ndjson'`, `'express-openid-connect'`): letters and
// hyphens only, so a hex or base64 secret (which has digits or other signs) is never taken for one.
const WORD = /^[a-z][a-z-]{0,23}$/i;
const ABSOLUTE_URL = /^[a-z][a-z\d+.-]*:\/\//i;

/**
 * What an option problem says it received: the shape of the value (its type, and its length when it
 * could be a secret), never the value. This is the one place a received value becomes text, because
 * options hold secrets: handing authtrail an express-openid-connect config passes its `clientSecret`
 * and cookie `secret` as unknown options, and a collector URL's path or query is often its
 * credential. Two things are shown, both safe and both what fixes the problem: a word given where
 * one of `choices` is expected (`overflow: 'spil'` gives `"spil"`), and a URL's scheme and host
 * (never its path, query or user:password). Exported for sinks and adapters outside core.
 * @example
 * shapeOf('Pq7dK2xW9mZr4TbN8vLc3HyJ6sGf1AeQ'); // 'a string of 32 characters'
 * shapeOf('spil', ['drop', 'spill', 'block']); // '"spil"'
 * shapeOf('https://u:p@collector.example.com/t0k3n?api_key=k'); // 'a URL to https://collector.example.com (49 characters)'
 */
export function shapeOf(value: unknown, choices?: readonly string[]): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return shapeOfString(value, choices);
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'object':
      break;
    default:
      return `a ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value instanceof URL) return `a URL to ${value.protocol}//${value.host}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return 'an object';
}

function shapeOfString(value: string, choices: readonly string[] | undefined): string {
  if (value === '') return 'an empty string';
  if (choices !== undefined && WORD.test(value)) return JSON.stringify(value);
  if (ABSOLUTE_URL.test(value) && URL.canParse(value)) {
    const url = new URL(value);
    if (url.host !== '')
      return `a URL to ${url.protocol}//${url.host} (${value.length} characters)`;
  }
  return `a string of ${value.length} characters`;
}

export function invalidOptions(issues: readonly OptionIssue[]): AuthtrailError {
  const lines = issues.map((i) => `  - ${i.path}: received ${i.received}; ${i.fix}`);
  const noun = issues.length === 1 ? 'problem' : 'problems';
  return new AuthtrailError(
    'ERR_AUTHTRAIL_INVALID_OPTIONS',
    `authtrail options have ${issues.length} ${noun}:\n${lines.join('\n')}`,
    issues,
  );
}
