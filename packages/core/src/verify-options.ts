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
