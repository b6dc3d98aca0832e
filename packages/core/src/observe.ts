import { routeKind, type RouteKind } from './classify.js';
import { newEvent, observers } from './event.js';
import { loginFailure, oauthErrorCode, readTransaction } from './login-failure.js';
import type { ResolvedOptions } from './options.js';
import { clean, cleanList, keyedHash } from './redact.js';
import { EventTypes as T, Reasons as R, type Reason } from './taxonomy.js';
import { bearerToken, inspectToken, numericDate, type TokenShape } from './token.js';
import { TokenCache } from './internal/bounded-cache.js';
import { auditUser } from './internal/user.js';
import { createVerifier, type Verification } from './verify.js';
import { createOpObserver } from './op.js';
import { header, requestContext } from './request-context.js';
import { createSignInObserver } from './sign-in.js';
import type { AuditEvent, Claims, RequestFacts } from './types.js';

/**
 * Builds the audit event of one finished request, or `undefined` when it is not an auth event. The
 * event is a promise only while authtrail's own verification of a token it has not seen is pending.
 */
export function createObserver(
  o: ResolvedOptions,
): (facts: RequestFacts) => AuditEvent | AuditEvent[] | Promise<AuditEvent> | undefined {
  const observer = observers(o);
  const max = o.limits.maxStringLength;
  const hash = (value: string) => keyedHash(o.fingerprintKey, value);

  // Built events run on the hot path; requestContext is small enough for V8 to inline.
  const common = (event: AuditEvent, f: RequestFacts) => requestContext(o, event, f);

  function user(claims: Claims | undefined): AuditEvent['user'] {
    return claims ? auditUser(o, claims, claims[o.rolesClaim]) : undefined;
  }

  function client(id: unknown): AuditEvent['client'] {
    const c = clean(Array.isArray(id) ? id[0] : id, 256);
    return c === undefined ? undefined : { id: c };
  }

  /**
   * What one token says, computed once per distinct token: its fingerprint, its decoded shape and
   * the event parts derived from its claims. API gateways see the same token many times in a row.
   * The parts are frozen because every event of that token shares them.
   */
  interface TokenView {
    fingerprint: string;
    shape: TokenShape;
    decoded?: ClaimView;
    verified?: ClaimView;
    /** authtrail's own verification (with `verify`): pending, then settled. */
    verification?: Promise<Verification>;
    result?: Verification;
    /** The event's `oauth` block, built once per token and claims (frozen: serialised once too). */
    oauth?: Map<ClaimView | undefined, Readonly<Record<'true' | 'false', AuditEvent['oauth']>>>;
  }
  interface ClaimView {
    user: AuditEvent['user'];
    client: AuditEvent['client'];
    issuer: string | undefined;
    scope: string[] | undefined;
    audience: string[] | undefined;
    exp: number | undefined;
    expiresAt: string | undefined;
    alg: string | undefined;
  }
  const tokens = new TokenCache<TokenView>(1000);
  const verifier = o.verify ? createVerifier(o.verify) : undefined;

  function claimView(claims: Claims | undefined, jwtHeader: Claims | undefined): ClaimView {
    const exp = numericDate(claims?.exp);
    return Object.freeze({
      user: claims ? deepFreeze(user(claims)) : undefined,
      client: claims ? deepFreeze(client(claims.client_id ?? claims.azp ?? claims.cid)) : undefined,
      issuer: clean(claims?.iss, max),
      scope: deepFreeze(cleanList(claims?.scope ?? claims?.scp, 100, 128)),
      audience: deepFreeze(cleanList(claims?.aud, 20, 256)),
      exp,
      expiresAt:
        exp === undefined || Math.abs(exp) > 8.64e9
          ? undefined
          : new Date(exp * 1000).toISOString(),
      alg: clean(jwtHeader?.alg, 32),
    });
  }

  function tokenView(token: string): TokenView {
    // The cache keys on the raw token. One longer than maxTokenLength is never decoded, but it can
    // be as long as the server's header limit (megabytes once raised), and 1000 distinct ones would
    // pin a gigabyte: such a token is fingerprinted every time it is seen, never kept.
    if (token.length > o.limits.maxTokenLength)
      return { fingerprint: hash(token), shape: { kind: 'malformed' } };
    return (
      tokens.get(token) ??
      tokens.set(token, {
        fingerprint: hash(token),
        shape: inspectToken(token, o.limits.maxTokenLength),
      })
    );
  }

  function api(f: RequestFacts): AuditEvent | Promise<AuditEvent> | undefined {
    const token = bearerToken(f.headers.authorization);
    // Requests without a bearer token are auth events only when the app refused them.
    if (token === undefined && f.status !== 401 && f.status !== 403) return undefined;
    if (token === undefined && refusedPage(f)) return sessionFailure(f);
    const view = token ? tokenView(token) : undefined;
    if (
      verifier &&
      view &&
      view.result === undefined &&
      f.tokenClaims === undefined &&
      view.shape.kind === 'jwt'
    ) {
      view.verification ??= verifier(token!, view.shape.header).then((result) => {
        // An undecided result (JWKS unreachable) is used once, not kept: the next request tries again.
        if (result.ok || result.reason !== undefined) view.result = result;
        else view.verification = undefined;
        return result;
      });
      return view.verification.then((result) => apiEvent(f, token, view, result));
    }
    return apiEvent(f, token, view, view?.result);
  }

  function apiEvent(
    f: RequestFacts,
    token: string | undefined,
    view: TokenView | undefined,
    own: Verification | undefined,
  ): AuditEvent {
    const status = f.status;
    const challenge =
      status >= 400 && f.response
        ? parseChallenge(f.response.getHeader('www-authenticate'))
        : undefined;
    const shape = view?.shape;
    const jwt = shape?.kind === 'jwt' ? shape : undefined;
    const verified = f.tokenClaims !== undefined || own?.ok === true;
    let claims: ClaimView | undefined;
    let rawClaims = f.tokenClaims ?? jwt?.claims;
    if (f.tokenClaims !== undefined) {
      // The app's verifier decides what the claims are; for one token they do not change.
      claims = view
        ? (view.verified ??= claimView(f.tokenClaims, f.tokenHeader ?? jwt?.header))
        : claimView(f.tokenClaims, f.tokenHeader);
    } else if (own?.ok) {
      claims = view!.verified ??= claimView(own.claims, own.header);
      rawClaims = own.claims;
    } else if (jwt) {
      claims = view!.decoded ??= claimView(jwt.claims, jwt.header);
    }

    let type: string = T.API_ACCESS_SUCCESS;
    let reason: Reason | undefined;
    if (
      status === 401 ||
      challenge?.error === 'invalid_token' ||
      (status === 400 && challenge?.error === 'invalid_request')
    ) {
      type = T.API_AUTHN_FAILURE;
      // authtrail's own verification knows exactly why; else the verifier's words, then the claims.
      reason =
        own?.ok === false && own.reason !== undefined
          ? own.reason
          : authnReason(
              token,
              shape,
              rawClaims,
              f.tokenHeader ?? jwt?.header,
              challenge?.description,
              f.startTime,
            );
    } else if (status === 403 || challenge?.error === 'insufficient_scope') {
      type = T.API_AUTHZ_FAILURE;
      reason = challenge?.error === 'insufficient_scope' ? R.INSUFFICIENT_SCOPE : R.FORBIDDEN;
    }

    const e = common(newEvent(observer.rs, type, f.startTime), f);
    e.reason = reason;
    if (reason !== undefined && challenge?.error !== undefined) e.error = { code: challenge.error };
    if (claims) {
      e.user = claims.user;
      e.client = claims.client;
    }
    if (view) e.oauth = oauthOf(view, claims, verified);
    return e;
  }

  function oauthOf(
    view: TokenView,
    claims: ClaimView | undefined,
    verified: boolean,
  ): AuditEvent['oauth'] {
    const built = (view.oauth ??= new Map()).get(claims);
    if (built) return built[`${verified}`];
    const make = (ok: boolean) =>
      deepFreeze({
        issuer: claims?.issuer,
        scope: claims?.scope,
        audience: claims?.audience,
        grant_type: undefined,
        token: {
          type: 'access_token',
          fingerprint: view.fingerprint,
          expires_at: claims?.expiresAt,
          verified: ok,
          alg: claims?.alg,
        },
      });
    const both = { true: make(true), false: make(false) };
    view.oauth.set(claims, both);
    return both[`${verified}`];
  }

  function callbackParams(f: RequestFacts): { state?: string; error?: string } {
    const q = f.url.indexOf('?');
    const query = q === -1 ? undefined : new URLSearchParams(f.url.slice(q + 1, q + 1 + 16_384));
    const body =
      f.body !== null && typeof f.body === 'object'
        ? (f.body as Record<string, unknown>)
        : undefined;
    const pick = (name: string) => {
      const fromBody = body?.[name];
      return typeof fromBody === 'string' ? fromBody : (query?.get(name) ?? undefined);
    };
    return { state: pick('state'), error: pick('error') };
  }

  function rp(f: RequestFacts, kind: RouteKind): AuditEvent {
    const ok = f.status < 400;
    const redirected = f.status >= 300 && f.status < 400;
    let e: AuditEvent;
    switch (kind) {
      case 'login': {
        e = common(
          newEvent(observer.rp, ok ? T.LOGIN_START_SUCCESS : T.LOGIN_START_FAILURE, f.startTime),
          f,
        );
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
        const transaction = cookie ?? (f.transaction === true ? {} : undefined);
        const who = params.error === undefined && ok ? identity(f) : undefined;
        let failure: { reason: Reason; code: string | undefined } | undefined;
        if (params.error !== undefined || !ok)
          failure = loginFailure(f.error, params, transaction, f.status);
        else if (f.transaction === false)
          // A stale or replayed callback the library redirected away.
          failure = { reason: R.MISSING_TRANSACTION, code: undefined };
        else if (who === undefined && (f.session === 'user' || o.user !== undefined))
          // A redirect (Passport's failureRedirect) that signed nobody in.
          failure = loginFailure(f.error, params, transaction, f.status);
        e = common(
          newEvent(observer.rp, failure ? T.LOGIN_FAILURE : T.LOGIN_SUCCESS, f.startTime),
          f,
        );
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
        e = common(newEvent(observer.rp, ok ? T.LOGOUT_SUCCESS : T.LOGOUT_FAILURE, f.startTime), f);
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
    e.client = client(auth.searchParams.get('client_id'));
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
    const e = common(newEvent(observer.rp, T.LOGIN_START_SUCCESS, f.startTime), f);
    authorizationRequest(e, auth);
    return e;
  }

  /** A browser session layer is visible: a refusal with no attempt at all is the RP's own. */
  function sessionVisible(f: RequestFacts): boolean {
    return f.session !== undefined || o.user !== undefined;
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

  /** The ID token claims of the session: the library's, or a user that is ID token claims. */
  function idClaims(f: RequestFacts, who: Claims | undefined): Claims | undefined {
    if (f.idTokenClaims !== undefined) return f.idTokenClaims;
    return who !== undefined && typeof who.iss === 'string' && who.aud !== undefined
      ? who
      : undefined;
  }

  function sessionIdentity(e: AuditEvent, who: Claims | undefined, id: Claims | undefined): void {
    e.user = user(who);
    if (!id) return;
    e.client = client(id.azp ?? id.aud);
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
    if (f.headers.authorization !== undefined || !sessionVisible(f)) return false;
    const c = f.response?.getHeader('www-authenticate');
    const challenge = Array.isArray(c) ? c.join(', ') : c;
    return !(typeof challenge === 'string' && /(?:^|,)\s*bearer\b/i.test(challenge));
  }

  function sessionFailure(f: RequestFacts): AuditEvent {
    const e = common(newEvent(observer.rp, T.SESSION_FAILURE, f.startTime), f);
    const who = identity(f);
    e.reason = f.status === 403 ? R.FORBIDDEN : R.SESSION_MISSING;
    sessionIdentity(e, who, idClaims(f, who));
    return e;
  }

  const signIn = o.signIn ? createSignInObserver(o, o.signIn) : undefined;
  const op = o.provider ? createOpObserver(o, hash, signIn?.finished) : undefined;
  const signInRole = o.provider ? observer.op : observer.rp;

  return function observe(
    f: RequestFacts,
  ): AuditEvent | AuditEvent[] | Promise<AuditEvent> | undefined {
    if (signIn) {
      // null: a sign-in that went on (the provider records the login when it resumes).
      const e = signIn.observe(f, (type) => common(newEvent(signInRole, type, f.startTime), f));
      if (e !== undefined) return e ?? undefined;
    }
    if (op) return op(f, (type) => common(newEvent(observer.op, type, f.startTime), f));
    const kind = routeKind(o.routes, f.url);
    if (kind !== undefined) return rp(f, kind);
    // The login route's own redirect is its login start already (one start per login).
    if (f.status >= 300 && f.status < 400) return redirectStart(f) ?? api(f);
    return api(f);
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function authnReason(
  token: string | undefined,
  shape: TokenShape | undefined,
  claims: Claims | undefined,
  jwtHeader: Claims | undefined,
  description: string | undefined,
  now: number,
): Reason {
  if (token === undefined) return R.TOKEN_MISSING;
  if (shape?.kind === 'malformed') return R.TOKEN_MALFORMED;
  // The verifier's own words first (RFC 6750 error_description), then what the claims show.
  if (description) {
    if (/\bexp\b|expired/i.test(description)) return R.TOKEN_EXPIRED;
    if (/\bnbf\b|not yet valid|not active/i.test(description)) return R.TOKEN_NOT_YET_VALID;
    if (/\balg\b|algorithm/i.test(description)) return R.ALG_NOT_ALLOWED;
    if (/signature/i.test(description)) return R.SIGNATURE_INVALID;
    if (/\biss\b|issuer/i.test(description)) return R.ISSUER_MISMATCH;
    if (/\baud\b|audience/i.test(description)) return R.AUDIENCE_MISMATCH;
    if (/revoked/i.test(description)) return R.TOKEN_REVOKED;
  }
  if (jwtHeader?.alg === 'none') return R.ALG_NOT_ALLOWED;
  const seconds = now / 1000;
  const exp = numericDate(claims?.exp);
  if (exp !== undefined && exp <= seconds) return R.TOKEN_EXPIRED;
  const nbf = numericDate(claims?.nbf);
  if (nbf !== undefined && nbf > seconds) return R.TOKEN_NOT_YET_VALID;
  return R.TOKEN_INVALID;
}

const CHALLENGE_ERRORS = new Set(['invalid_request', 'invalid_token', 'insufficient_scope']);

/** The `error` and `error_description` of a Bearer `WWW-Authenticate` challenge (RFC 6750 §3). */
function parseChallenge(value: unknown): { error?: string; description?: string } | undefined {
  const s = Array.isArray(value) ? value.join(', ') : value;
  if (typeof s !== 'string' || !/^\s*bearer\b/i.test(s)) return undefined;
  const bounded = s.length > 2048 ? s.slice(0, 2048) : s;
  const error = /\berror="?([a-z_]+)"?/i.exec(bounded)?.[1];
  const description = /\berror_description="((?:[^"\\]|\\.)*)"/i.exec(bounded)?.[1];
  return {
    error: error !== undefined && CHALLENGE_ERRORS.has(error) ? error : undefined,
    description,
  };
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
