import { shapeOf } from '../errors.js';
import type { OptionCheck } from '../internal/option-check.js';

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

/** The JWS algorithms accepted when `verify.algorithms` is not given: asymmetric ones only. */
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

const VERIFY_KEYS = ['issuer', 'audience', 'jwksUri', 'algorithms', 'clockTolerance'] as const;

function isHttpUrl(value: unknown): boolean {
  return (
    typeof value === 'string' && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)
  );
}

/**
 * Checks the `verify` option, here beside the verifier so that what it accepts and what it checks
 * stay together (and the options module needs neither jose nor its rules). Problems are reported
 * on `check`, under `verify.<name>`; the options come back frozen, or undefined when absent or
 * unusable.
 */
export function checkVerifyOptions(
  value: unknown,
  check: OptionCheck<unknown>,
): Readonly<VerifyOptions> | undefined {
  if (value === undefined) return undefined;
  const v = check.object(
    'verify',
    value,
    "use { issuer: 'https://login.example.com', audience: 'https://api.example.com' }",
  );
  if (v === undefined) return undefined;
  check.known('verify', v, VERIFY_KEYS);
  if (!isHttpUrl(v.issuer))
    check.issue(
      'verify.issuer',
      shapeOf(v.issuer),
      "use the issuer URL exactly as in the tokens' iss claim",
    );
  const audiences = Array.isArray(v.audience) ? v.audience : [v.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === ''))
    check.issue(
      'verify.audience',
      shapeOf(v.audience),
      'use the API identifier the tokens carry in aud (a string or an array of strings)',
    );
  if (v.jwksUri !== undefined && !isHttpUrl(v.jwksUri))
    check.issue(
      'verify.jwksUri',
      shapeOf(v.jwksUri),
      'use an http(s) URL, or leave it out to use discovery',
    );
  const algs = v.algorithms;
  if (
    algs !== undefined &&
    (!Array.isArray(algs) ||
      algs.length === 0 ||
      algs.some((a) => typeof a !== 'string' || !DEFAULT_ALGORITHMS.includes(a)))
  )
    check.issue(
      'verify.algorithms',
      shapeOf(algs),
      `use a non-empty subset of ${DEFAULT_ALGORITHMS.join(', ')} (none and HMAC are never accepted)`,
    );
  if (
    v.clockTolerance !== undefined &&
    !(
      Number.isInteger(v.clockTolerance) &&
      (v.clockTolerance as number) >= 0 &&
      (v.clockTolerance as number) <= 300
    )
  )
    check.issue(
      'verify.clockTolerance',
      shapeOf(v.clockTolerance),
      'use a whole number of seconds from 0 to 300',
    );
  return Object.freeze({ ...(v as unknown as VerifyOptions) });
}
