import { EventTypes as T, Reasons as R, type AuditEvent, type Reason } from '@authtrail/schema';
import type { RouteKind } from '../classify.js';
import { readTransaction } from '../integrations/express-openid-connect.js';
import { auditUser } from '../internal/user.js';
import type { ResolvedOptions } from '../options.js';
import { clean, cleanList } from '../redact.js';
import type { Claims, RequestFacts } from '../types.js';
import { clientOf, header, oauthErrorCode, requestEvent } from './common.js';
import { loginFailure } from './login-failure.js';

/**
 * The relying party's events: its routes (login, callback, logout), logins started by any redirect
 * to an authorization request, and its own pages refusing a browser. Who signed in comes from the
 * `user` option, else the session layer (Passport's user, express-openid-connect's claims).
 */
export function createRpEvents(
  o: ResolvedOptions,
  observer: AuditEvent['observer'],
  hash: (value: string) => string,
) {
  const max = o.limits.maxStringLength;

  function route(f: RequestFacts, kind: RouteKind): AuditEvent {
    const ok = f.status < 400;
    const redirected = f.status >= 300 && f.status < 400;
    let e: AuditEvent;
    switch (kind) {
      case 'login': {
        e = requestEvent(o, observer, ok ? T.LOGIN_START_SUCCESS : T.LOGIN_START_FAILURE, f);
        if (redirected) {
          const auth = parseUrl(f.response?.getHeader('location'));
          if (auth) authorizationRequest(e, auth);
        } else if (!ok) {
          e.reason = f.status >= 500 ? R.SERVER_ERROR : R.UNKNOWN;
        }
        return e;
      }
      case 'callback': {
        // Judged by what happened, in this order: the provider's answer (`error`), the response,
        // whether the library found its login transaction, then whether the app signed anyone in.
        const params = callbackParams(f);
        const cookie = readTransaction(header(f.headers, 'cookie'));
        const transaction = cookie ?? (f.transactionFound === true ? {} : undefined);
        const who = params.error === undefined && ok ? identity(f) : undefined;
        let failure: { reason: Reason; code: string | undefined } | undefined;
        if (params.error !== undefined || !ok)
          failure = loginFailure(f.error, params, transaction, f.status);
        else if (f.transactionFound === false)
          // A stale or replayed callback the library redirected away.
          failure = { reason: R.MISSING_TRANSACTION, code: undefined };
        else if (who === undefined && (f.session === 'user' || o.user !== undefined))
          // A redirect (Passport's failureRedirect) that signed nobody in.
          failure = loginFailure(f.error, params, transaction, f.status);
        e = requestEvent(o, observer, failure ? T.LOGIN_FAILURE : T.LOGIN_SUCCESS, f);
        const claims = idClaims(f, who);
        const nonce = cookie?.nonce ?? claims?.nonce ?? f.flowKey;
        if (typeof nonce === 'string') e.flow = { id: hash(nonce) };
        if (failure) {
          e.reason = failure.reason;
          if (failure.code !== undefined) e.error = { code: failure.code };
        } else sessionIdentity(e, who, claims);
        return e;
      }
      case 'logout':
      case 'backchannel_logout': {
        e = requestEvent(o, observer, ok ? T.LOGOUT_SUCCESS : T.LOGOUT_FAILURE, f);
        const who = identity(f);
        sessionIdentity(e, who, idClaims(f, who));
        if (!ok) {
          e.reason = f.status >= 500 ? R.SERVER_ERROR : R.UNKNOWN;
          const code = oauthErrorCode((f.error as { error?: unknown } | undefined)?.error);
          if (code !== undefined) e.error = { code };
        }
        return e;
      }
    }
  }

  /**
   * What a login start shows of the authorization request it redirects to: the client, the scope
   * and the flow id. Never the URL, its `state`, `nonce` or `code_challenge`: only the nonce's keyed
   * hash, which the callback computes too (the nonce, not the state: express-openid-connect's state
   * is not random).
   */
  function authorizationRequest(e: AuditEvent, auth: URL): void {
    e.client = clientOf(auth.searchParams.get('client_id'));
    e.oauth = { scope: cleanList(auth.searchParams.get('scope'), 100, 128) };
    // Without a nonce (openid-client's Passport strategy sends PKCE alone) the S256 challenge: the
    // callback computes it from the verifier the app's session held.
    const nonce =
      auth.searchParams.get('nonce') ??
      (auth.searchParams.get('code_challenge_method') === 'S256'
        ? auth.searchParams.get('code_challenge')
        : null);
    if (nonce) e.flow = { id: hash(nonce) };
  }

  /**
   * A login that starts anywhere but the login route (`requiresAuth()`, express-openid-connect's
   * `authRequired`, `res.oidc.login()`, an openid-client app's own redirect): a redirect whose
   * `Location` is an authorization request, which carries `response_type` and `client_id` (RFC 6749
   * §4.1.1, OpenID Connect Core §3.1.2.1). Called for 3xx responses only.
   */
  function redirectStart(f: RequestFacts): AuditEvent | undefined {
    const location = f.response?.getHeader('location');
    // Two substring tests before any parsing: most redirects are not authorization requests. The
    // bound first: a Location can reflect a long returnTo.
    if (
      typeof location !== 'string' ||
      location.length > 16_384 ||
      !location.includes('response_type=') ||
      !location.includes('client_id=')
    )
      return undefined;
    const auth = parseUrl(location);
    if (!auth?.searchParams.has('response_type') || !auth.searchParams.has('client_id'))
      return undefined;
    const e = requestEvent(o, observer, T.LOGIN_START_SUCCESS, f);
    authorizationRequest(e, auth);
    return e;
  }

  /**
   * Who the app signed in: the `user` option's answer, else what its session layer shows
   * (Passport's user, express-openid-connect's claims). A profile without `sub` (Passport's
   * normalised profiles) is read by its `id`.
   */
  function identity(f: RequestFacts): Claims | undefined {
    const given = o.user?.(f.request) ?? f.user ?? f.idTokenClaims;
    if (given === null || given === undefined || given === false) return undefined;
    if (typeof given === 'string' || typeof given === 'number') return { sub: String(given) };
    if (typeof given !== 'object') return undefined;
    const c = given as Claims;
    if (c.sub !== undefined || c.id === undefined) return c;
    const emails = c.emails as { value?: unknown }[] | undefined;
    return {
      sub: typeof c.id === 'number' ? String(c.id) : c.id,
      name: c.displayName ?? c.name,
      email: c.email ?? (Array.isArray(emails) ? emails[0]?.value : undefined),
      [o.rolesClaim]: c[o.rolesClaim],
    };
  }

  function sessionIdentity(e: AuditEvent, who: Claims | undefined, id: Claims | undefined): void {
    e.user = who ? auditUser(o, who, who[o.rolesClaim]) : undefined;
    if (!id) return;
    e.client = clientOf(id.azp ?? id.aud);
    const issuer = clean(id.iss, max);
    if (issuer !== undefined) e.oauth = { issuer };
    const sid = clean(id.sid, 256);
    if (sid !== undefined) e.session = { id: hash(sid) };
  }

  /**
   * A 401 or 403 to a request that made no attempt at all (no `Authorization` header) from an app
   * whose session layer is visible, and not an API's refusal (no Bearer challenge): one of the
   * relying party's own pages refused a browser.
   */
  function refusedPage(f: RequestFacts): boolean {
    // A browser session layer is visible: a refusal with no attempt at all is the RP's own.
    if (f.headers.authorization !== undefined || (f.session === undefined && o.user === undefined))
      return false;
    const c = f.response?.getHeader('www-authenticate');
    const challenge = Array.isArray(c) ? c.join(', ') : c;
    return !(typeof challenge === 'string' && /(?:^|,)\s*bearer\b/i.test(challenge));
  }

  function sessionFailure(f: RequestFacts): AuditEvent {
    const e = requestEvent(o, observer, T.SESSION_FAILURE, f);
    const who = identity(f);
    e.reason = f.status === 403 ? R.FORBIDDEN : R.SESSION_MISSING;
    sessionIdentity(e, who, idClaims(f, who));
    return e;
  }

  return { route, redirectStart, refusedPage, sessionFailure };
}

/** The ID token claims of the session: the library's, or a user that is ID token claims. */
function idClaims(f: RequestFacts, who: Claims | undefined): Claims | undefined {
  if (f.idTokenClaims !== undefined) return f.idTokenClaims;
  return who !== undefined && typeof who.iss === 'string' && who.aud !== undefined
    ? who
    : undefined;
}

/** The callback's `state` and `error`: from a posted form (`form_post`), else the query. */
function callbackParams(f: RequestFacts): { state?: string; error?: string } {
  const q = f.url.indexOf('?');
  const query = q === -1 ? undefined : new URLSearchParams(f.url.slice(q + 1, q + 1 + 16_384));
  const body =
    f.body !== null && typeof f.body === 'object' ? (f.body as Record<string, unknown>) : undefined;
  const pick = (name: string) => {
    const fromBody = body?.[name];
    return typeof fromBody === 'string' ? fromBody : (query?.get(name) ?? undefined);
  };
  return { state: pick('state'), error: pick('error') };
}

// A relative Location (a provider mounted in the same app) is read against a placeholder origin:
// only its query is used.
const RELATIVE_BASE = 'http://relative.invalid';

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length > 16_384) return undefined;
  try {
    return new URL(value, RELATIVE_BASE);
  } catch {
    return undefined;
  }
}
