import { Reasons, type Reason } from '@authtrail/schema';
import { oauthErrorCode } from './common.js';

/**
 * Why a relying-party callback failed. `params.error` means the provider itself answered with an
 * error (`idp_error`); a state other than the transaction's is `state_mismatch`. Otherwise the
 * error the auth library raised decides, and without one, whether a transaction came back: express-openid-connect
 * wraps openid-client / oauth4webapi errors in an http-errors 400 whose `error` is either an OAuth
 * error code from the token endpoint or an `OAUTH_*` code, and whose message names the check that
 * failed. Messages are read, never logged.
 */
export function loginFailure(
  error: unknown,
  params: { state?: string; error?: string },
  transaction: { state?: string } | undefined,
  status: number,
): { reason: Reason; code: string | undefined } {
  if (params.error !== undefined)
    return { reason: Reasons.IDP_ERROR, code: oauthErrorCode(params.error) };
  if (
    transaction?.state !== undefined &&
    params.state !== undefined &&
    transaction.state !== params.state
  ) {
    return { reason: Reasons.STATE_MISMATCH, code: undefined };
  }
  const fallback = {
    reason:
      status >= 500
        ? Reasons.SERVER_ERROR
        : transaction === undefined
          ? Reasons.MISSING_TRANSACTION
          : Reasons.UNKNOWN,
    code: undefined,
  };
  if (error === null || typeof error !== 'object') return fallback;
  const e = error as {
    message?: unknown;
    error?: unknown;
    error_description?: unknown;
    cause?: { message?: unknown };
  };
  // openid-client 6 used directly (its Passport strategy, hand-made callbacks) wraps the check
  // that failed: ClientError "invalid response encountered", the reason in its `cause`.
  const cause = e.cause !== null && typeof e.cause === 'object' ? e.cause.message : undefined;
  const message = `${typeof e.message === 'string' ? e.message : ''} ${typeof e.error_description === 'string' ? e.error_description : ''} ${typeof cause === 'string' ? cause : ''}`;
  const code = typeof e.error === 'string' ? e.error : '';
  if (/cookie not found|checks\.state argument is missing|transaction/i.test(message)) {
    return { reason: Reasons.MISSING_TRANSACTION, code: undefined };
  }
  if (/"state"|state mismatch/i.test(message))
    return { reason: Reasons.STATE_MISMATCH, code: undefined };
  if (/nonce/i.test(message)) return { reason: Reasons.NONCE_MISMATCH, code: undefined };
  const oauthCode = oauthErrorCode(code);
  if (oauthCode !== undefined && oauthCode !== 'unknown_error') {
    // A plain OAuth error with no `error` parameter in the callback came from the token endpoint.
    return { reason: Reasons.CODE_EXCHANGE_FAILED, code: oauthCode };
  }
  if (
    /^OAUTH_(JWT_|KEY_SELECTION)/.test(code) ||
    /id[ _]?token|signature|"(iss|aud|azp|exp|iat|auth_time|at_hash|c_hash)"/i.test(message)
  ) {
    return { reason: Reasons.ID_TOKEN_INVALID, code: undefined };
  }
  if (code.startsWith('OAUTH_')) return { reason: Reasons.CODE_EXCHANGE_FAILED, code: undefined };
  return fallback;
}
