import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { Reasons as R, type Reason } from './taxonomy.js';
import type { Claims } from './types.js';

/** Options of authtrail's own bearer-token verification (used when the app's verifier is not visible). */
export interface VerifyOptions {
  /** Expected `iss`. Also where discovery looks when `jwksUri` is absent. */
  issuer: string;
  /** Expected `aud` (one of). */
  audience: string | string[];
  /** The issuer's JWKS. @default discovered from `${issuer}/.well-known/openid-configuration` */
  jwksUri?: string;
  /** Accepted JWS algorithms. `none` and HMAC algorithms are never accepted. @default asymmetric algorithms */
  algorithms?: string[];
  /** Seconds of clock skew tolerated for `exp` / `nbf`. @default 0 */
  clockTolerance?: number;
}

export const DEFAULT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** The outcome of verifying one token: its claims, or why it failed (`undefined` when undecidable). */
export type Verification =
  { ok: true; claims: Claims; header: Claims } | { ok: false; reason: Reason | undefined };

/**
 * A verifier that checks signature, issuer, audience and times with jose against the issuer's JWKS
 * (fetched once, then cached and refreshed by jose on key rotation). It never throws: a failure
 * becomes a reason, and a JWKS that cannot be fetched leaves the reason undecided.
 */
export function createVerifier(
  options: Readonly<VerifyOptions>,
): (token: string, header: Claims) => Promise<Verification> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const getKeys = () =>
    (keys ??= discover(options)
      .then((uri) => createRemoteJWKSet(new URL(uri)))
      .catch((err: unknown) => {
        keys = undefined; // try discovery again next time
        throw err;
      }));
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;

  return async function verify(token, header) {
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
      return { ok: false, reason: R.ALG_NOT_ALLOWED };
    try {
      const jwks = await getKeys();
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockTolerance ?? 0,
      });
      return { ok: true, claims: payload as Claims, header: protectedHeader as unknown as Claims };
    } catch (err) {
      return { ok: false, reason: reasonOf(err) };
    }
  };
}

async function discover(options: Readonly<VerifyOptions>): Promise<string> {
  if (options.jwksUri) return options.jwksUri;
  const url = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, {
    signal: AbortSignal.timeout(5000),
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`discovery at ${url} answered ${res.status}`);
  const meta = (await res.json()) as { jwks_uri?: unknown };
  if (typeof meta.jwks_uri !== 'string') throw new Error(`discovery at ${url} has no jwks_uri`);
  return meta.jwks_uri;
}

/** jose's error codes mapped to reasons. Network and JWKS trouble decide nothing. */
function reasonOf(err: unknown): Reason | undefined {
  const { code, claim } = (err ?? {}) as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return R.TOKEN_EXPIRED;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return R.ISSUER_MISMATCH;
      if (claim === 'aud') return R.AUDIENCE_MISMATCH;
      if (claim === 'nbf') return R.TOKEN_NOT_YET_VALID;
      return R.TOKEN_INVALID;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return R.SIGNATURE_INVALID;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return R.ALG_NOT_ALLOWED;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return R.TOKEN_MALFORMED;
    default:
      return undefined;
  }
}
