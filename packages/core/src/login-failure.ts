import { Reasons, type Reason } from './taxonomy.js';

/** OAuth error codes as RFC 6749 / OIDC spell them. Anything else is not logged as `error.code`. */
const OAUTH_ERROR = /^[a-z][a-z0-9_]{1,63}$/;

export function oauthErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && OAUTH_ERROR.test(value) ? value : undefined;
}

/**
 * Why a relying-party callback failed. `params.error` means the provider itself answered with an
 * error (`idp_error`). Otherwise the error the auth library raised decides: express-openid-connect
 * wraps openid-client / oauth4webapi errors in an http-errors 400 whose `error` is either an OAuth
 * error code from the token endpoint or an `OAUTH_*` code, and whose message names the check that
 * failed. Messages are read, never logged.
 */
export function loginFailure(
  error: unknown,
  idpError: string | undefined,
  status: number,
): { reason: Reason; code: string | undefined } {
  if (idpError !== undefined) return { reason: Reasons.IDP_ERROR, code: oauthErrorCode(idpError) };
  if (error === null || typeof error !== 'object') {
    return { reason: status >= 500 ? Reasons.SERVER_ERROR : Reasons.UNKNOWN, code: undefined };
  }
  const e = error as { message?: unknown; error?: unknown; error_description?: unknown };
  const message = `${typeof e.message === 'string' ? e.message : ''} ${typeof e.error_description === 'string' ? e.error_description : ''}`;
  const code = typeof e.error === 'string' ? e.error : '';
  if (/cookie not found|checks\.state argument is missing|transaction/i.test(message)) {
    return { reason: Reasons.MISSING_TRANSACTION, code: undefined };
  }
  if (/"state"|state mismatch/i.test(message)) return { reason: Reasons.STATE_MISMATCH, code: undefined };
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
  return { reason: status >= 500 ? Reasons.SERVER_ERROR : Reasons.UNKNOWN, code: undefined };
}
