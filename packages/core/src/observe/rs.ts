import { EventTypes as T, Reasons as R, type AuditEvent, type Reason } from '@authtrail/schema';
import { TokenCache } from '../internal/bounded-cache.js';
import { auditUser } from '../internal/user.js';
import type { ResolvedOptions } from '../options.js';
import { clean, cleanList } from '../redact.js';
import { inspectToken, numericDate, type TokenShape } from '../token/inspect.js';
import { createVerifier, type Verification } from '../token/verify.js';
import type { Claims, RequestFacts } from '../types.js';
import { clientOf, requestEvent, type Emit } from './common.js';

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

/**
 * The resource server's events: one per bearer-token request (`api.access.success`,
 * `api.authn.failure`, `api.authz.failure`), judged by the status, the Bearer challenge and what
 * the token shows. With `verify`, a token seen for the first time is verified by authtrail before
 * its event is emitted: the response never waits for it; `later` is told of the pending event.
 */
export function createRsEvents(
  o: ResolvedOptions,
  observer: AuditEvent['observer'],
  hash: (value: string) => string,
  later: (pending: Promise<void>) => void,
) {
  const max = o.limits.maxStringLength;
  const tokens = new TokenCache<TokenView>(1000);
  const verifier = o.verify ? createVerifier(o.verify) : undefined;

  function claimView(claims: Claims | undefined, jwtHeader: Claims | undefined): ClaimView {
    const exp = numericDate(claims?.exp);
    return Object.freeze({
      user: claims ? deepFreeze(auditUser(o, claims, claims[o.rolesClaim])) : undefined,
      client: claims
        ? deepFreeze(clientOf(claims.client_id ?? claims.azp ?? claims.cid))
        : undefined,
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

  /** The event of a request with a bearer token (`token`), or of a refusal without one. */
  function rsEvent(f: RequestFacts, token: string | undefined, emit: Emit): void {
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
      later(view.verification.then((result) => emit(apiEvent(f, token, view, result))));
      return;
    }
    emit(apiEvent(f, token, view, view?.result));
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

    const e = requestEvent(o, observer, type, f);
    e.reason = reason;
    if (reason !== undefined && challenge?.error !== undefined) e.error = { code: challenge.error };
    if (claims) {
      e.user = claims.user;
      e.client = claims.client;
    }
    if (view) e.oauth = oauthOf(view, claims, verified);
    return e;
  }

  return rsEvent;
}

/** The event's `oauth` block of one token, claims and verdict: built twice per token, then shared. */
function oauthOf(
  view: TokenView,
  claims: ClaimView | undefined,
  verified: boolean,
): AuditEvent['oauth'] {
  const built = (view.oauth ??= new Map()).get(claims);
  if (built) return built[`${verified}`];
  const block = (ok: boolean) =>
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
  const both = { true: block(true), false: block(false) };
  view.oauth.set(claims, both);
  return both[`${verified}`];
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
