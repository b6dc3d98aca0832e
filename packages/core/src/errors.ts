/** Stable codes carried by every {@link AuthtrailError}. Match on `code`, not on `instanceof`. */
export type AuthtrailErrorCode =
  | 'ERR_AUTHTRAIL_INVALID_OPTIONS'
  | 'ERR_AUTHTRAIL_INVALID_EVENT'
  | 'ERR_AUTHTRAIL_CLOSED'
  /** An HTTP sink's write failed; the error adds `url` (no query) and `status` (if answered). */
  | 'ERR_AUTHTRAIL_SINK_WRITE';

/** One problem found while validating options: where, what was received, and how to fix it. */
export interface OptionIssue {
  readonly path: string;
  readonly received: string;
  readonly fix: string;
}

/**
 * The only error type authtrail throws. Thrown at startup for a broken configuration and by
 * `record()` for an event that cannot be recorded; never at request time. HTTP sinks reject a
 * failed write with it, which the delivery queue retries and publishes on `authtrail:sink-error`.
 */
export class AuthtrailError extends Error {
  readonly code: AuthtrailErrorCode;
  /** For `ERR_AUTHTRAIL_INVALID_OPTIONS`: every problem found, not only the first. */
  readonly issues: readonly OptionIssue[];

  constructor(code: AuthtrailErrorCode, message: string, issues: readonly OptionIssue[] = []) {
    super(message);
    this.name = 'AuthtrailError';
    this.code = code;
    this.issues = issues;
  }
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
