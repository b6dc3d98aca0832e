import {
  EventTypes as T,
  Reasons as R,
  type AuditEvent,
  type Reason,
  type TokenInfo,
} from '@authtrail/schema';
import { pathOf } from '../classify.js';
import type { ResolvedOptions } from '../options.js';
import { clean, cleanList } from '../redact.js';
import { basicUserName } from '../internal/basic-auth.js';
import { auditUser } from '../internal/user.js';
import type { RequestFacts } from '../types.js';
import {
  AUTHORIZE_REASONS,
  ENDPOINT_REASONS,
  oauthErrorCode,
  requestEvent,
  type Emit,
} from './common.js';

/** What core reads of oidc-provider's `ctx.oidc`. Everything is optional: it is read defensively. */
interface OidcContext {
  route?: unknown;
  client?: { clientId?: unknown };
  params?: Record<string, unknown>;
  result?: { login?: { accountId?: unknown }; consent?: { grantId?: unknown } };
  session?: { accountId?: unknown; authorizations?: Record<string, { sid?: unknown } | undefined> };
  entities?: Record<string, Record<string, unknown> | undefined>;
}

/** A token as oidc-provider keeps it: whose, for which audience, in which provider session. */
interface TokenEntity {
  accountId?: unknown;
  nonce?: unknown;
  aud?: unknown;
  sid?: unknown;
}

/**
 * Audit events of one request to node-oidc-provider, from `ctx.oidc` and the response: the
 * authorization endpoint and its interactions (login, consent), the token endpoint per grant type,
 * revocation, introspection, userinfo and end_session. One request may give several events (a
 * resume can complete a login, a consent and the authorization at once). Refresh-token reuse is
 * not decided here: a refresh names the token it rotated (`oauth.presented`) and a failure says
 * when the provider still held the token, consumed (`reason: token_reused`); the detectors'
 * `refresh_token_reuse` makes the decision, with a state that instances can share.
 */
export function createOpEvents(
  o: ResolvedOptions,
  observer: AuditEvent['observer'],
  hash: (value: string) => string,
  /** Told which account an interaction signed in (the sign-in form's failures name it then). */
  signedIn?: (uid: unknown, accountId: unknown) => void,
) {
  const str = (value: unknown, bound = 256) => clean(value, bound);
  const client = (id: unknown): AuditEvent['client'] => {
    const c = str(id);
    return c === undefined ? undefined : { id: c };
  };
  const user = (id: unknown): AuditEvent['user'] => auditUser(o, { sub: id }, undefined);
  // The provider's session id (`sid`, as in its ID tokens), hashed as the relying party hashes it.
  const session = (sid: unknown): AuditEvent['session'] => {
    const s = str(sid);
    return s === undefined ? undefined : { id: hash(s) };
  };
  const token = (
    type: string,
    value: unknown,
    extra: Partial<TokenInfo> = {},
  ): TokenInfo | undefined =>
    typeof value === 'string' && value !== ''
      ? { type, fingerprint: hash(value), verified: true, ...extra }
      : undefined;

  /** Emits the request's events, in the order they happened; none for the provider's other routes. */
  return function opEvents(f: RequestFacts, emit: Emit): void {
    const ctx = f.oidc as OidcContext | undefined;
    const route = typeof ctx?.route === 'string' ? ctx.route : undefined;
    if (!ctx || route === undefined) return;
    const params = ctx.params ?? {};
    const entities = ctx.entities ?? {};
    const body =
      f.responseBody !== null && typeof f.responseBody === 'object'
        ? (f.responseBody as Record<string, unknown>)
        : undefined;
    const ok = f.status < 400;
    const errorCode =
      oauthErrorCode(body?.error) ??
      oauthErrorCode((f.error as { error?: unknown } | undefined)?.error);
    // The client that authenticated, else the one that tried: a client the provider does not know
    // (or one that failed before lookup) is named by its client_id parameter or its Basic user name.
    const clientId =
      ctx.client?.clientId ??
      params.client_id ??
      (route === 'token' || route === 'revocation' || route === 'introspection'
        ? basicUserName(f.headers.authorization)
        : undefined);
    // A failure at an endpoint that authenticates clients: the OAuth error is the reason when it is one.
    const endpointReason = (): Reason =>
      f.status >= 500
        ? R.SERVER_ERROR
        : errorCode !== undefined && ENDPOINT_REASONS.has(errorCode)
          ? (errorCode as Reason)
          : R.UNKNOWN;
    const nonce = typeof params.nonce === 'string' ? params.nonce : undefined;

    // The provider session the request belongs to: the browser session's id for this client, or
    // the one a token was issued in (set only when the client or the claims asked for `sid`).
    let sid =
      typeof clientId === 'string' ? ctx.session?.authorizations?.[clientId]?.sid : undefined;

    const add = (type: string, fill: (e: AuditEvent) => void = () => {}) => {
      const e = requestEvent(o, observer, type, f);
      e.client = client(clientId);
      e.session = session(sid);
      if (!type.endsWith('.success') && e.reason === undefined && errorCode !== undefined)
        e.error = { code: errorCode };
      fill(e);
      emit(e);
    };

    switch (route) {
      case 'authorization':
      case 'resume':
      case 'pushed_authorization_request': {
        const flow = nonce === undefined ? undefined : { id: hash(nonce) };
        const scope = cleanList(params.scope, 100, 128);
        const account = ctx.result?.login?.accountId ?? ctx.session?.accountId;
        const interaction = entities.Interaction as
          { result?: unknown; prompt?: { name?: unknown } } | undefined;
        // The interaction still in place is the one just answered (its prompt says which); when the
        // provider already created the next one (e.g. consent after login), the login was just answered.
        const answered =
          interaction && 'result' in interaction ? interaction.prompt?.name : undefined;
        if (ctx.result?.login && (answered === undefined || answered === 'login')) {
          // The interaction answered is the one resumed (`/auth/:uid`): the entity may be the next.
          if (signedIn && route === 'resume') {
            const path = pathOf(f.url);
            signedIn(path.slice(path.lastIndexOf('/') + 1), ctx.result.login.accountId);
          }
          add(T.LOGIN_SUCCESS, (e) => {
            e.user = user(ctx.result!.login!.accountId);
            e.flow = flow;
          });
        }
        if (ctx.result?.consent) {
          add(
            T.CONSENT_GRANT_SUCCESS,
            (e) => ((e.user = user(account)), (e.oauth = { scope }), (e.flow = flow)),
          );
        }
        const location = f.response?.getHeader('location');
        const target = typeof location === 'string' ? location : '';
        if (ok && target.includes('/interaction/')) break; // the provider asks the user something: not an outcome yet
        const redirectError = /[?&#]error=([a-z_]+)/.exec(target)?.[1];
        if (ok && redirectError === undefined) {
          add(
            T.AUTHORIZE_SUCCESS,
            (e) => ((e.user = user(account)), (e.oauth = { scope }), (e.flow = flow)),
          );
          break;
        }
        const code = oauthErrorCode(redirectError) ?? errorCode;
        if (code === 'access_denied' && interaction?.prompt?.name === 'consent') {
          add(
            T.CONSENT_GRANT_FAILURE,
            (e) => (
              (e.reason = R.USER_DENIED),
              (e.user = user(account)),
              (e.oauth = { scope }),
              (e.flow = flow)
            ),
          );
        }
        add(T.AUTHORIZE_FAILURE, (e) => {
          e.reason =
            f.status >= 500
              ? R.SERVER_ERROR
              : code === 'access_denied'
                ? R.USER_DENIED
                : code !== undefined && AUTHORIZE_REASONS.has(code)
                  ? (code as Reason)
                  : R.UNKNOWN;
          if (code !== undefined) e.error = { code };
          e.user = user(account);
          e.flow = flow;
        });
        break;
      }
      case 'token': {
        const grantType = str(params.grant_type, 128);
        const refresh = grantType === 'refresh_token';
        const presented =
          refresh && typeof params.refresh_token === 'string'
            ? hash(params.refresh_token)
            : undefined;
        const grant = (entities.AuthorizationCode ??
          entities.RefreshToken ??
          entities.ClientCredentials ??
          entities.AccessToken) as TokenEntity | undefined;
        // The access token issued (a resource indicator made it for that resource's audience).
        const issued = (entities.ClientCredentials ?? entities.AccessToken) as
          TokenEntity | undefined;
        const account = entities.Account?.accountId ?? grant?.accountId;
        const codeNonce = typeof grant?.nonce === 'string' ? grant.nonce : undefined;
        sid ??= grant?.sid ?? issued?.sid;
        if (ok) {
          // The refresh token this refresh consumed (rotation): presenting it again is reuse.
          const rotated =
            presented !== undefined && entities.RotatedRefreshToken
              ? { type: 'refresh_token', fingerprint: presented, verified: true }
              : undefined;
          add(refresh ? T.TOKEN_REFRESH_SUCCESS : T.TOKEN_ISSUE_SUCCESS, (e) => {
            e.user = user(account);
            e.flow = codeNonce === undefined ? undefined : { id: hash(codeNonce) };
            const expiresIn = typeof body?.expires_in === 'number' ? body.expires_in : undefined;
            e.oauth = {
              scope: cleanList(body?.scope, 100, 128),
              grant_type: grantType,
              audience: cleanList(issued?.aud, 10, 256),
              token: token('access_token', body?.access_token, {
                expires_at:
                  expiresIn === undefined
                    ? undefined
                    : new Date(f.startTime + expiresIn * 1000).toISOString(),
              }),
              presented: rotated,
            };
          });
          break;
        }
        const rt = entities.RefreshToken as { consumed?: unknown } | undefined;
        // The provider still held the token presented, consumed by an earlier rotation: it says
        // so (`token_reused`); the detectors make it `oauth.token_reuse.detected`.
        const reused = refresh && Boolean(rt?.consumed);
        add(refresh ? T.TOKEN_REFRESH_FAILURE : T.TOKEN_ISSUE_FAILURE, (e) => {
          e.reason = reused ? R.TOKEN_REUSED : endpointReason();
          e.user = user(account);
          e.oauth = {
            grant_type: grantType,
            token:
              presented === undefined
                ? undefined
                : { type: 'refresh_token', fingerprint: presented, verified: reused },
          };
        });
        break;
      }
      case 'revocation': {
        const fingerprint = typeof params.token === 'string' ? hash(params.token) : undefined;
        // The token revoked, when the provider found it: whose it was.
        const revoked = (entities.RefreshToken ??
          entities.AccessToken ??
          entities.ClientCredentials) as TokenEntity | undefined;
        sid ??= revoked?.sid;
        add(ok ? T.TOKEN_REVOKE_SUCCESS : T.TOKEN_REVOKE_FAILURE, (e) => {
          if (!ok) e.reason = endpointReason();
          e.user = user(revoked?.accountId);
          const type = str(params.token_type_hint, 64) ?? 'unknown';
          if (fingerprint !== undefined)
            e.oauth = { token: { type, fingerprint, verified: false } };
        });
        break;
      }
      case 'introspection': {
        add(ok ? T.TOKEN_INTROSPECT_SUCCESS : T.TOKEN_INTROSPECT_FAILURE, (e) => {
          if (!ok) e.reason = endpointReason();
          const type = str(params.token_type_hint, 64) ?? 'unknown';
          const info = token(type, params.token, { verified: false });
          if (info && ok) info.active = body?.active === true;
          if (info) e.oauth = { token: info };
          if (ok && body?.active === true) {
            e.user = user(body.sub);
            e.oauth!.scope = cleanList(body.scope, 100, 128);
          }
        });
        break;
      }
      case 'userinfo': {
        const at = entities.AccessToken as
          (TokenEntity & { clientId?: unknown; scope?: unknown }) | undefined;
        sid ??= at?.sid;
        const presented = /^bearer\s+(\S+)/i.exec(String(f.headers.authorization ?? ''))?.[1];
        add(ok ? T.USERINFO_SUCCESS : T.USERINFO_FAILURE, (e) => {
          if (!ok)
            e.reason =
              f.status === 401 ? R.TOKEN_INVALID : f.status >= 500 ? R.SERVER_ERROR : R.UNKNOWN;
          e.user = user(at?.accountId);
          e.client = client(at?.clientId ?? clientId);
          e.oauth = {
            scope: cleanList(at?.scope, 100, 128),
            token: token('access_token', presented, { verified: ok }),
          };
        });
        break;
      }
      case 'end_session_confirm':
      case 'end_session': {
        if (route === 'end_session' && ok) break; // the confirmation page; the logout happens on confirm
        add(ok ? T.LOGOUT_SUCCESS : T.LOGOUT_FAILURE, (e) => {
          if (!ok) e.reason = f.status >= 500 ? R.SERVER_ERROR : R.UNKNOWN;
          e.user = user(ctx.session?.accountId);
        });
        break;
      }
      default:
        break; // discovery, jwks, ... are not auth events
    }
  };
}
