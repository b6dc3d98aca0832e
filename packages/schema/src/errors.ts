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
  | 'ERR_AUTHTRAIL_SINK_WRITE'
  /** A store query (its text, a page cursor, a bucket interval or a group field) is malformed; the message says where. */
  | 'ERR_AUTHTRAIL_INVALID_QUERY'
  /** A store (its server) cannot be reached or refused the connection; the message names where (never the password) and the fix. */
  | 'ERR_AUTHTRAIL_STORE_UNAVAILABLE'
  /** A store's schema was migrated by a newer authtrail than this one: it refuses rather than guess. */
  | 'ERR_AUTHTRAIL_STORE_VERSION'
  /** A store opened read-only holds no authtrail schema (nothing wrote to it, or another schema was meant). */
  | 'ERR_AUTHTRAIL_STORE_NOT_FOUND'
  /** A store was reached but refused a statement (the database's own error code is in the message). */
  | 'ERR_AUTHTRAIL_STORE_FAILED'
  /** An embedded store's directory is held by another writer (another process, or another store of this process); the message names it (pid, host, command, since when) and the fix. */
  | 'ERR_AUTHTRAIL_STORE_LOCKED';

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
   * CommonJS build of this package, or two installed versions of it), and an error thrown by one
   * must still be an `AuthtrailError` to the other.
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
  /** For `ERR_AUTHTRAIL_INVALID_QUERY` about a query's text: the 1-based column the problem is at (length + 1 at its end). */
  declare readonly position?: number;

  constructor(code: AuthtrailErrorCode, message: string, issues: readonly OptionIssue[] = []) {
    super(message);
    this.name = 'AuthtrailError';
    this.code = code;
    this.issues = issues;
  }
}
// On the prototype, so every copy's errors carry it and their own properties stay as they were.
Object.defineProperty(AuthtrailError.prototype, BRAND, { value: true });
