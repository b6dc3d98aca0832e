import type { AuditRecorder, Claims, HeaderBag, RefreshFacts } from '../types.js';
import { REFRESH_KEY } from './symbols.js';

/** What {@link auditRefresh} needs to know before the refresh: read once, never kept. */
export interface RefreshStart {
  /** The refresh token the app presents. Only its keyed fingerprint reaches the event. */
  refreshToken?: string;
  /** The session's ID token claims: the user, client, provider session (`sid`) and login flow. */
  idTokenClaims?: Claims;
  /** The request the app refreshes in (its user agent and `traceparent` are read). */
  headers?: HeaderBag;
  /** That request's client address. */
  ip?: string;
}

type RefreshRecorder = (facts: RefreshFacts) => void;

/** The refresh recorder of an adapter's `req.audit`, if it is one. */
export function refreshRecorder(recorder: unknown): RefreshRecorder | undefined {
  const fn =
    recorder !== null && typeof recorder === 'object'
      ? (recorder as { [REFRESH_KEY]?: unknown })[REFRESH_KEY]
      : undefined;
  return typeof fn === 'function' ? (fn as RefreshRecorder) : undefined;
}

/**
 * Records a relying party's own refresh-token grant when it settles: `oauth.token_refresh.success`
 * with the new access token's fingerprint, or `oauth.token_refresh.failure` with the OAuth error as
 * reason (`invalid_grant` once the provider revoked the grant). Resolves or rejects exactly as
 * `refresh` does, with the same value or the same error object. Any promise of a token endpoint
 * answer (`{ access_token, expires_in }`) will do; express-openid-connect's
 * `accessToken.refresh()` is recorded without it (the Express adapter hooks it).
 * @example
 * const tokens = await auditRefresh(
 *   req.audit,
 *   client.refreshTokenGrant(config, session.refresh_token),
 *   { refreshToken: session.refresh_token, idTokenClaims: session.claims, headers: req.headers },
 * );
 */
export function auditRefresh<T>(
  recorder: AuditRecorder | undefined,
  refresh: Promise<T>,
  start: RefreshStart,
): Promise<T> {
  const record = refreshRecorder(recorder);
  if (record === undefined || typeof (refresh as { then?: unknown } | null)?.then !== 'function')
    return refresh;
  return settle(record, refresh, start, Date.now());
}

/**
 * Awaits the refresh, rather than adding a second reaction to the app's promise: V8 follows an
 * error's async stack only through a promise with one reaction, so a side `.then()` would cut the
 * app's own frames from the error it gets. Awaited, the stack keeps them and gains one frame
 * (`settle`).
 */
async function settle<T>(
  record: RefreshRecorder,
  refresh: Promise<T>,
  start: RefreshStart,
  startTime: number,
): Promise<T> {
  let response: T;
  try {
    response = await refresh;
  } catch (error) {
    report(record, facts(start, startTime, true, undefined, error));
    throw error;
  }
  report(record, facts(start, startTime, false, response, undefined));
  return response;
}

/** This auditor's recorder never throws; one of another authtrail copy must not either, here. */
function report(record: RefreshRecorder, refresh: RefreshFacts): void {
  try {
    record(refresh);
  } catch {
    // the app's outcome comes first: an audit failure never changes it
  }
}

function facts(
  start: RefreshStart,
  startTime: number,
  failed: boolean,
  response: unknown,
  error: unknown,
): RefreshFacts {
  return {
    startTime,
    idTokenClaims: start.idTokenClaims,
    refreshToken: start.refreshToken,
    failed,
    response,
    error,
    headers: start.headers,
    ip: start.ip,
  };
}
