import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { Reasons as R, type Reason } from '@authtrail/schema';
import type { Claims } from '../types.js';
import { DEFAULT_ALGORITHMS, type VerifyOptions } from './verify-options.js';

// The options and defaults live apart from jose, so that option checking (options.ts) loads
// without it: jest's module loader cannot require jose (ESM only) from CommonJS on Node 20.
export { DEFAULT_ALGORITHMS, type VerifyOptions } from './verify-options.js';

/** The outcome of verifying one token: its claims, or why it failed (`undefined` when undecidable). */
export type Verification =
  { ok: true; claims: Claims; header: Claims } | { ok: false; reason: Reason | undefined };

/** The JWKS is refreshed once older than this, or when a token names a key it lacks ... */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** ... but a refresh, of either kind, is tried at most once in this long. */
const JWKS_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 512 * 1024;
const MAX_REDIRECTS = 3;

/**
 * A verifier that checks signature, issuer, audience and times with jose against the issuer's JWKS
 * (fetched once, cached, refreshed every 10 minutes and when a token names a key it lacks). It
 * never throws: a failure becomes a reason, and a JWKS that cannot be fetched leaves the reason
 * undecided.
 */
export function createVerifier(
  options: Readonly<VerifyOptions>,
): (token: string, header: Claims) => Promise<Verification> {
  const getKey = issuerKeys(options);
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;

  return async function verify(token, header) {
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
      return { ok: false, reason: R.ALG_NOT_ALLOWED };
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
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
  const meta = (await getJson(url)) as { jwks_uri?: unknown } | null;
  if (typeof meta?.jwks_uri !== 'string') throw new Error(`discovery at ${url} has no jwks_uri`);
  return meta.jwks_uri;
}

/**
 * The issuer's keys. One *attempt* is discovery (until it has succeeded once) plus the JWKS fetch,
 * redirects included. Attempts never overlap, and one starts at most once per 30 s whatever
 * prompts it: the first use, a failed attempt, keys older than 10 minutes (a failed refresh keeps
 * the old keys in use) or a token naming a key the set lacks. So an issuer that is down, a
 * redirect loop or made-up key ids cost the issuer one attempt per 30 s, not one per request;
 * while no keys are known, verification stays undecided.
 */
function issuerKeys(options: Readonly<VerifyOptions>): JWTVerifyGetKey {
  let jwksUri: string | undefined;
  let local: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let triedAt = -Infinity;
  let loading: Promise<void> | undefined;
  const mayTry = () => Date.now() - triedAt >= JWKS_COOLDOWN_MS;
  const attempt = (): Promise<void> => {
    if (loading) return loading;
    if (!mayTry()) return Promise.reject(new Error('the issuer was tried less than 30 s ago'));
    triedAt = Date.now();
    return (loading = (async () => {
      try {
        jwksUri ??= await discover(options);
        const jwks = await getJson(jwksUri);
        local = createLocalJWKSet(jwks as JSONWebKeySet); // throws on a document that is no JWKS
        fetchedAt = Date.now();
      } finally {
        loading = undefined;
      }
    })());
  };
  return async (header, token) => {
    if (local === undefined) await attempt();
    else if (Date.now() - fetchedAt > JWKS_MAX_AGE_MS && (loading || mayTry()))
      await attempt().catch(() => undefined);
    try {
      return await local!(header, token);
    } catch (err) {
      const unknownKey = (err as { code?: unknown }).code === 'ERR_JWKS_NO_MATCHING_KEY';
      if (!unknownKey || !(loading || mayTry())) throw err;
      await attempt();
      return local!(header, token);
    }
  };
}

/**
 * GETs a JSON document with node:http(s): at most 5 s and 512 KiB, up to 3 redirects. Not Node's
 * fetch: its first use loads undici, about 20 MB of memory for a request made every ten minutes.
 */
function getJson(url: string, base?: URL, redirects = MAX_REDIRECTS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const target = new URL(url, base);
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new Error(`${url} is not an http(s) URL`);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location !== undefined && redirects > 0) {
          res.resume();
          resolve(getJson(location, target, redirects - 1));
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(new Error(`${target.origin}${target.pathname} answered ${status}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_DOCUMENT_BYTES)
            req.destroy(new Error(`${target.origin}${target.pathname}: more than 512 KiB`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${target.origin}${target.pathname} did not answer JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
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
