import { routeKind, type RouteKind } from './classify.js';
import { newEvent, observers } from './event.js';
import { loginFailure, oauthErrorCode, readTransaction } from './login-failure.js';
import type { ResolvedOptions } from './options.js';
import { clean, cleanList, keyedHash, redactPath, redactQuery } from './redact.js';
import { EventTypes as T, Reasons as R, type Reason } from './taxonomy.js';
import { bearerToken, inspectToken, numericDate, type TokenShape } from './token.js';
import { TokenCache } from './internal/bounded-cache.js';
import { auditUser } from './internal/user.js';
import { createVerifier, type Verification } from './verify.js';
import { createOpObserver } from './op.js';
import type { AuditEvent, Claims, HeaderBag, RequestFacts } from './types.js';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;
const MAX_FORWARDED = 8;
const XFF_BOUND = MAX_FORWARDED * 65;

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

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

  function common(event: AuditEvent, f: RequestFacts): AuditEvent {
    let url = typeof f.url === 'string' ? f.url : '/';
    // Browsers never send a fragment: one in the request line (`/cb#access_token=...`) is a token a
    // client put there. Nothing from `#` on is kept, a query after it included.
    const fragment = url.indexOf('#');
    if (fragment !== -1) url = url.slice(0, fragment);
    const q = url.indexOf('?');
    // A template has no values; Express's mount prefix (req.baseUrl) does, so it is redacted too.
    const route =
      (typeof f.route === 'string' && redactPath(f.route, 256, o.pseudonymize)) || undefined;
    event.http = {
      request_id: clean(header(f.headers, o.requestIdHeader), 128),
      method: clean(f.method, 16) ?? 'UNKNOWN',
      route,
      // Paths carry ids, reset and invite tokens, e-mail addresses, oidc-provider's interaction
      // handles (/auth/:uid): where the framework matched a route its template stands in for the
      // path; elsewhere (404s, paths middleware answers) the path is logged with those redacted.
      path: route || redactPath(q === -1 ? url : url.slice(0, q), 1024, o.pseudonymize),
      query: q === -1 ? undefined : redactQuery(url.slice(q + 1), o.queryAllowList, 1024),
      status: f.status,
      duration_ms: Math.round(f.durationMs * 1000) / 1000,
    };
    const xff = header(f.headers, 'x-forwarded-for');
    event.source = {
      ip: clean(f.ip, 64),
      // Cut before any other work (a header can be megabytes): 8 entries of 64 and their commas.
      forwarded:
        xff === undefined
          ? undefined
          : cleanList(
              (xff.length > XFF_BOUND ? xff.slice(0, XFF_BOUND) : xff)
                .replace(/\s/g, '')
                .replace(/,/g, ' '),
              MAX_FORWARDED,
              64,
            ),
      user_agent: clean(header(f.headers, 'user-agent'), max),
    };
    const tp = header(f.headers, 'traceparent');
    const m = tp === undefined ? null : TRACEPARENT.exec(tp);
    if (m) event.trace = { id: m[1]!, span_id: m[2]! };
    return event;
  }

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
        const params = callbackParams(f);
        const success = ok && f.transaction !== false && params.error === undefined;
        e = common(
          newEvent(observer.rp, success ? T.LOGIN_SUCCESS : T.LOGIN_FAILURE, f.startTime),
          f,
        );
        const transaction = readTransaction(header(f.headers, 'cookie'));
        const nonce = transaction?.nonce ?? f.idTokenClaims?.nonce;
        if (typeof nonce === 'string') e.flow = { id: hash(nonce) };
        if (success) {
          sessionIdentity(e, f);
        } else if (ok && f.transaction === false) {
          e.reason = R.MISSING_TRANSACTION; // a stale or replayed callback the library redirected away
        } else {
          const { reason, code } = loginFailure(f.error, params, transaction, f.status);
          e.reason = reason;
          if (code !== undefined) e.error = { code };
        }
        return e;
      }
      case 'logout':
      case 'backchannel_logout': {
        e = common(newEvent(observer.rp, ok ? T.LOGOUT_SUCCESS : T.LOGOUT_FAILURE, f.startTime), f);
        sessionIdentity(e, f);
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
    const nonce = auth.searchParams.get('nonce');
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

  function sessionIdentity(e: AuditEvent, f: RequestFacts): void {
    e.user = user(f.user ?? f.idTokenClaims);
    const id = f.idTokenClaims;
    if (!id) return;
    e.client = client(id.azp ?? id.aud);
    const issuer = clean(id.iss, max);
    if (issuer !== undefined) e.oauth = { issuer };
    const sid = clean(id.sid, 256);
    if (sid !== undefined) e.session = { id: hash(sid) };
  }

  const op = o.provider ? createOpObserver(o, hash) : undefined;

  return function observe(
    f: RequestFacts,
  ): AuditEvent | AuditEvent[] | Promise<AuditEvent> | undefined {
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
