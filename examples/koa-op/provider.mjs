// A small OpenID Provider (node-oidc-provider) audited by authtrail: every token issued, refreshed,
// revoked or introspected, every authorization, login, consent and logout becomes an audit event.
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { authtrail } from '@authtrail/koa';

export const MACHINE = {
  client_id: 'reports-job',
  client_secret: 'reports-job-secret-8f1e2d3c4b5a',
};
export const AUDIENCE = 'https://api.example.test';

/** Starts the provider on 127.0.0.1:`port` (0: any free port) and resolves with its issuer URL. */
export async function startProvider({ port = 0, sinks } = {}) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: 'op-key-1', alg: 'RS256', use: 'sig' };
  // The issuer must be known before the provider exists: take a free port first when asked for 0.
  const { createServer } = await import('node:http');
  const server = createServer();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [
      { ...MACHINE, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    ],
    jwks: { keys: [key] },
    // Set, not left to oidc-provider's defaults: it prints a NOTICE on stdout, among the audit events,
    // the first time a default lifetime is used.
    ttl: { ClientCredentials: 600, AccessToken: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'reports:read reports:write',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  // The one line: every endpoint of the provider is audited.
  provider.use(authtrail({ routes: 'oidc-provider', service: 'example-op', sinks }));
  server.on('request', provider.callback());
  return { issuer, provider, close: () => new Promise((resolve) => server.close(resolve)) };
}
