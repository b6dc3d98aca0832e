// One login started by hand, as an openid-client app does it, for the adapters' tests: the
// authorization URL it redirects to, and what the start and its callback must log.
import { randomBytes } from 'node:crypto';
import type { Auditor, MemorySink } from '@authtrail/core';

export interface LoginSecrets {
  state: string;
  nonce: string;
  challenge: string;
}

export const loginSecrets = (): LoginSecrets => ({
  state: randomBytes(16).toString('base64url'),
  nonce: randomBytes(16).toString('base64url'),
  challenge: randomBytes(32).toString('base64url'),
});

/** What openid-client's buildAuthorizationUrl() gives, sent where a session is missing. */
export function authorizationUrl(clientId: string, secrets: LoginSecrets): string {
  const url = new URL('https://op.example/authorize');
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: 'https://rp.example/cb',
    response_type: 'code',
    scope: 'openid email',
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: secrets.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

/**
 * After `GET /account/orders` was redirected by `adapter`'s app: the start names the client, scope
 * and route, its flow id is the one the callback of this login gets, and no secret is in it.
 */
export async function expectStartMatchingCallback(
  auditor: Auditor,
  sink: MemorySink,
  adapter: string,
  clientId: string,
  secrets: LoginSecrets,
): Promise<void> {
  // The callback of this login, as core sees it once the app's session holds the ID token.
  auditor.attach(adapter).observe({
    startTime: Date.now(),
    durationMs: 1,
    method: 'GET',
    url: '/callback?code=c&state=s',
    status: 302,
    headers: {},
    idTokenClaims: { sub: 'u1', nonce: secrets.nonce },
  });
  await auditor.flush();
  const [start, done] = sink.events;
  expect(start).toMatchObject({
    type: 'authn.login_start.success',
    observer: { role: 'rp', adapter },
    client: { id: clientId },
    oauth: { scope: ['openid', 'email'] },
    http: { method: 'GET', route: '/account/:section', status: 302 },
  });
  expect(done).toMatchObject({ type: 'authn.login.success' });
  expect(start!.flow?.id).toBeDefined();
  expect(start!.flow).toEqual(done!.flow);
  const written = JSON.stringify(start);
  for (const value of Object.values(secrets)) expect(written).not.toContain(value);
  expect(written).not.toContain('op.example');
}
