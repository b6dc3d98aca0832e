// End-to-end: a Koa relying party written with openid-client directly (buildAuthorizationUrl,
// authorizationCodeGrant, its session in koa-session) against a real oidc-provider, audited by
// @authtrail/koa (in a child process, see support/koa-rp-server.mjs) and driven over HTTP by the
// scripted browser. The app tells authtrail who signed in with one option: `user: (ctx) => ...`.
import type { AuditEvent } from '@authtrail/core';
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import { RP_CLIENT } from '@authtrail/testbed/accounts.cjs';
import { expectNoSecrets, startRpProcess, type RpProcess } from './support/rp-process';

let rp: RpProcess;
const browsers: Browser[] = [];
const browser = () => {
  const b = new Browser();
  browsers.push(b);
  return b;
};

beforeAll(async () => {
  rp = await startRpProcess('koa-rp-server.mjs');
}, 30_000);
afterAll(() => rp?.stop());

const count = async () => (await rp.events('rp', 'rs')).length;
const rpEventsAfter = async (before: number) => (await rp.events('rp', 'rs')).slice(before);
const types = (events: AuditEvent[]) => events.map((e) => e.type);

describe('Koa relying party written with openid-client', () => {
  test('logs authn.login_start.success then authn.login.success naming the user and the client, tied by one flow id', async () => {
    const before = await count();
    const { page } = await login(browser(), rp.rpUrl, { user: 'alice' });
    expect(page.body).toBe('hello alice');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.success']);
    const [start, done] = events as [AuditEvent, AuditEvent];
    expect(start).toMatchObject({
      observer: { role: 'rp', service: 'koa-rp', adapter: 'koa' },
      client: { id: RP_CLIENT.id },
      oauth: { scope: ['openid', 'profile'] },
      http: { method: 'GET', path: '/login', status: 302 },
    });
    expect(done).toMatchObject({
      outcome: 'success',
      observer: { role: 'rp', adapter: 'koa' },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      oauth: { issuer: rp.issuer },
      http: { method: 'GET', path: '/callback', status: 302 },
    });
    expect(done.reason).toBeUndefined();
    expect(start.flow?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(done.flow).toEqual(start.flow); // the nonce's keyed hash, from the ID token's claims
  });

  test('logs authn.login.failure with reason idp_error and error.code access_denied when consent is denied', async () => {
    const before = await count();
    const { page } = await login(browser(), rp.rpUrl, { user: 'bob', deny: true });
    expect(page.status).toBe(500); // authorizationCodeGrant threw; the app let Koa answer
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.failure']);
    expect(events[1]).toMatchObject({
      observer: { role: 'rp' },
      reason: 'idp_error',
      error: { code: 'access_denied' },
      http: { path: '/callback', status: 500 },
    });
    expect(events[1]!.user).toBeUndefined();
  });

  test('logs authn.login.failure with reason missing_transaction for a callback replayed in another browser', async () => {
    const { callbackUrl } = await login(browser(), rp.rpUrl, { user: 'alice' });
    const before = await count();
    expect((await browser().request(callbackUrl)).status).toBe(400);
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login.failure']);
    expect(events[0]).toMatchObject({
      observer: { role: 'rp' },
      reason: 'missing_transaction',
      http: { status: 400 },
    });
    expect(events[0]!.user).toBeUndefined();
  });

  test("logs the RP's own page refusing a browser as authn.session.failure by role rp, and a refused bearer token still as api.authn.failure by rs", async () => {
    const b = browser();
    const before = await count();
    expect((await b.request(`${rp.rpUrl}/account`)).status).toBe(401);
    const api = await b.request(`${rp.rpUrl}/account`, {
      headers: { authorization: 'Bearer not-a-token-but-an-attempt' },
    });
    expect(api.status).toBe(401);
    await login(b, rp.rpUrl, { user: 'bob' });
    expect((await b.request(`${rp.rpUrl}/account`)).body).toBe('account of bob');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual([
      'authn.session.failure',
      'api.authn.failure',
      'authn.login_start.success',
      'authn.login.success',
    ]);
    expect(events[0]).toMatchObject({
      outcome: 'failure',
      observer: { role: 'rp', adapter: 'koa' },
      reason: 'session_missing',
      http: { path: '/account', status: 401 },
    });
    expect(events[0]!.user).toBeUndefined();
    expect(events[1]).toMatchObject({ observer: { role: 'rs' }, reason: 'token_invalid' });
    expect(events[3]).toMatchObject({ user: { id: 'bob', roles: ['viewer'] } });
  });

  test('logs authn.logout.success with the user who signed out', async () => {
    const b = browser();
    await login(b, rp.rpUrl, { user: 'alice' });
    const before = await count();
    expect((await b.request(`${rp.rpUrl}/logout`)).status).toBe(302);
    expect((await b.request(`${rp.rpUrl}/`)).body).toBe('signed out');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.logout.success']);
    expect(events[0]).toMatchObject({
      observer: { role: 'rp' },
      user: { id: 'alice' },
      client: { id: RP_CLIENT.id },
      http: { path: '/logout', status: 302 },
    });
  });

  test('secret canary: no code, state, cookie, nonce, PKCE verifier, token or client secret in any byte written', async () => {
    const secrets = [...(await rp.secrets()), ...browsers.flatMap((b) => [...b.secrets])];
    expectNoSecrets(await rp.text(), secrets);
  });
});
