import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { rememberSecret } from './secrets.js';

/** Options of {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** The API the tokens are for (`aud`). @default 'https://api.test' */
  audience?: string | string[];
  /** Scopes granted by default (`scope`, space separated). @default none */
  scope?: string | string[];
  /** Default subject (`sub`). @default 'test-user' */
  subject?: string;
  /** Default `client_id`. @default 'test-client' */
  clientId?: string;
  /** Lifetime of valid tokens, in seconds. @default 300 */
  expiresIn?: number;
  /** Signing algorithm. @default 'RS256' */
  alg?: 'RS256' | 'PS256' | 'ES256';
}

/** Claims of one token; `scope` may be an array, `expiresIn` (seconds) sets `exp`. */
export type TestTokenClaims = JWTPayload & {
  scope?: string | string[];
  expiresIn?: number;
  [claim: string]: unknown;
};

/** One token of each kind, for `test.each`. */
export interface TestTokenVariants {
  valid: string;
  expired: string;
  wrongAudience: string;
  wrongKey: string;
  missingScope: string;
}

/** A local token issuer: discovery and a JWKS on 127.0.0.1, and tokens signed by its key. */
export interface TestIssuer {
  /** The issuer identifier (`iss`), e.g. `http://127.0.0.1:54321`: give it to your verifier. */
  readonly url: string;
  /** Where its JWKS is served. */
  readonly jwksUri: string;
  /** `<url>/.well-known/openid-configuration` (also served as `oauth-authorization-server`). */
  readonly discoveryUrl: string;
  readonly audience: string | string[];
  /** The public keys served, as JSON. */
  readonly jwks: { keys: JWK[] };
  /** Ready for authtrail's own verification: `createTestAuditor({ verify: issuer.verify })`. */
  readonly verify: { issuer: string; audience: string | string[]; jwksUri: string };
  /** A valid access token (RFC 9068 `at+jwt`): defaults overridden by `claims`. */
  token(claims?: TestTokenClaims): Promise<string>;
  /** Expired ten minutes ago (beyond any usual clock tolerance). */
  expired(claims?: TestTokenClaims): Promise<string>;
  /** For another API: `aud` is `https://wrong-audience.invalid`. */
  wrongAudience(claims?: TestTokenClaims): Promise<string>;
  /** Signed by a key that is not in the JWKS, under the JWKS key's `kid` (a forgery). */
  wrongKey(claims?: TestTokenClaims): Promise<string>;
  /** Valid, without the `scope` claim (unless `claims.scope` names other scopes). */
  missingScope(claims?: TestTokenClaims): Promise<string>;
  /** One token of each kind. */
  variants(claims?: TestTokenClaims): Promise<TestTokenVariants>;
  /** Stops the server. */
  close(): Promise<void>;
}

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * Starts a token issuer on 127.0.0.1 (a free port) serving OpenID Connect discovery and a JWKS, so
 * real verifiers (express-oauth2-jwt-bearer, koa-jwt with a JWKS client, @fastify/jwt, authtrail's
 * `verify`) check its tokens as they would a real provider's. Every token it mints is remembered,
 * and `toHaveNoSecrets()` fails if one reaches an audit sink.
 * @example
 * const issuer = await createTestIssuer({ audience: 'https://api.example.com', scope: 'read:items' });
 * app.use(auth({ issuerBaseURL: issuer.url, audience: issuer.audience }));
 * await request(app).get('/items').set(bearer(await issuer.expired())).expect(401);
 * await issuer.close();
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const {
    audience = 'https://api.test',
    scope,
    subject = 'test-user',
    clientId = 'test-client',
    expiresIn = 300,
    alg = 'RS256',
  } = options;
  const kid = `authtrail-test-${randomUUID().slice(0, 8)}`;
  const [signing, stranger] = await Promise.all([generateKeyPair(alg), generateKeyPair(alg)]);
  const publicJwk = { ...(await exportJWK(signing.publicKey)), kid, alg, use: 'sig' };
  const jwks = { keys: [publicJwk] };

  let metadata = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body =
      path === '/.well-known/openid-configuration' ||
      path === '/.well-known/oauth-authorization-server'
        ? metadata
        : path === '/jwks'
          ? JSON.stringify(jwks)
          : undefined;
    res.statusCode = body === undefined ? 404 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(body ?? '{"error":"not_found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // It serves tests only: do not keep a test process alive for it.
  server.unref();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUri = `${url}/jwks`;
  metadata = JSON.stringify({
    issuer: url,
    jwks_uri: jwksUri,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [alg],
    token_endpoint_auth_signing_alg_values_supported: [alg],
  });

  async function mint(claims: TestTokenClaims, key: Key, times?: { iat: number; exp: number }) {
    const { scope: asked, expiresIn: life = expiresIn, ...rest } = claims;
    const now = Math.floor(Date.now() / 1000);
    const scopes = [asked ?? scope ?? []].flat().filter((s) => s !== '');
    const payload: JWTPayload = {
      iss: url,
      sub: subject,
      aud: audience,
      client_id: clientId,
      iat: times?.iat ?? now,
      exp: times?.exp ?? now + life,
      jti: randomUUID(),
      ...(scopes.length === 0 ? {} : { scope: scopes.join(' ') }),
      ...rest,
    };
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .sign(key);
    rememberSecret(token);
    return token;
  }

  const issuer: TestIssuer = {
    url,
    jwksUri,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    audience,
    jwks,
    verify: { issuer: url, audience, jwksUri },
    token: (claims = {}) => mint(claims, signing.privateKey),
    expired: (claims = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(claims, signing.privateKey, { iat: now - 3600, exp: now - 600 });
    },
    wrongAudience: (claims = {}) =>
      mint({ ...claims, aud: 'https://wrong-audience.invalid' }, signing.privateKey),
    wrongKey: (claims = {}) => mint(claims, stranger.privateKey),
    missingScope: (claims = {}) =>
      mint({ ...claims, scope: claims.scope ?? [] }, signing.privateKey),
    async variants(claims = {}) {
      const [valid, expired, wrongAudience, wrongKey, missingScope] = await Promise.all([
        issuer.token(claims),
        issuer.expired(claims),
        issuer.wrongAudience(claims),
        issuer.wrongKey(claims),
        issuer.missingScope(claims),
      ]);
      return { valid, expired, wrongAudience, wrongKey, missingScope };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return issuer;
}
