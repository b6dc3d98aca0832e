import {
  EventTypes as T,
  Reasons as R,
  type AuditEvent,
  type Reason,
  type TokenInfo,
} from '@authtrail/schema';
import { newEvent } from '../event.js';
import type { ResolvedOptions } from '../options.js';
import { clean } from '../redact.js';
import { ENDPOINT_REASONS, oauthErrorCode, requestContext } from './common.js';
import { auditUser } from '../internal/user.js';
import type { RefreshFacts } from '../types.js';

/**
 * Builds the `oauth.token_refresh.*` event of a relying party's own refresh, the counterpart of
 * the provider's event for the same grant: with one fingerprint key the new access token (success)
 * or the refresh token presented (failure) has the same fingerprint in both logs. A success names
 * the refresh token it spent in `oauth.presented`. No `http` block: the refresh is a call the app
 * made while handling a request, not that request's outcome.
 */
export function createRefreshEvent(o: ResolvedOptions, hash: (value: string) => string) {
  const max = o.limits.maxStringLength;
  const token = (type: string, value: unknown, expiresAt?: string): TokenInfo | undefined =>
    typeof value === 'string' && value !== ''
      ? { type, fingerprint: hash(value), expires_at: expiresAt, verified: false }
      : undefined;

  return function refreshEvent(f: RefreshFacts, observer: AuditEvent['observer']): AuditEvent {
    const e = newEvent(
      observer,
      f.failed ? T.TOKEN_REFRESH_FAILURE : T.TOKEN_REFRESH_SUCCESS,
      f.startTime,
    );
    const id = f.idTokenClaims;
    if (id) {
      e.user = auditUser(o, id, id[o.rolesClaim]);
      const aud = id.azp ?? id.aud;
      const client = clean(Array.isArray(aud) ? aud[0] : aud, 256);
      if (client !== undefined) e.client = { id: client };
      const sid = clean(id.sid, 256);
      if (sid !== undefined) e.session = { id: hash(sid) };
      // The login's flow id (the nonce's keyed hash, as the login events carry it): an ID token
      // issued by a refresh may have none.
      if (typeof id.nonce === 'string') e.flow = { id: hash(id.nonce) };
    }
    const presented = token('refresh_token', f.refreshToken);
    if (f.failed) {
      const err = (f.error ?? {}) as { error?: unknown; status?: unknown };
      const code = oauthErrorCode(err.error);
      const status = typeof err.status === 'number' ? err.status : 0;
      e.reason =
        code !== undefined && ENDPOINT_REASONS.has(code)
          ? (code as Reason)
          : status >= 500
            ? R.SERVER_ERROR
            : R.UNKNOWN;
      if (code !== undefined) e.error = { code };
      e.oauth = { issuer: clean(id?.iss, max), grant_type: 'refresh_token', token: presented };
    } else {
      const body = (f.response ?? {}) as { access_token?: unknown; expires_in?: unknown };
      const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
      const expiresAt =
        expiresIn === undefined || !Number.isFinite(expiresIn) || Math.abs(expiresIn) > 8.64e9
          ? undefined
          : new Date(f.startTime + expiresIn * 1000).toISOString();
      e.oauth = {
        issuer: clean(id?.iss, max),
        grant_type: 'refresh_token',
        token: token('access_token', body.access_token, expiresAt),
        presented,
      };
    }
    // The request's source and trace as every event has them (its http block is left out).
    if (f.headers !== undefined || f.ip !== undefined) {
      const context = requestContext(o, {} as AuditEvent, {
        url: '/',
        method: '',
        status: 0,
        durationMs: 0,
        headers: f.headers ?? {},
        ip: f.ip,
      });
      e.source = context.source;
      e.trace = context.trace;
    }
    return e;
  };
}
