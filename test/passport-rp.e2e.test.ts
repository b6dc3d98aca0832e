// End-to-end: a relying party on Passport with openid-client's own strategy
// (`openid-client/passport`) and a session, against a real oidc-provider, on each framework with
// its usual Passport and session (support/passport-rp-server.mjs, a child process per framework):
// Express (passport, express-session), Koa (koa-passport, koa-session with an external store),
// Fastify (@fastify/passport, @fastify/session). Each is audited by its adapter and driven over
// HTTP by the scripted browser through the same scenario, and must log the same events. Nothing in
// the apps is there for authtrail but the adapter: identity comes from Passport's user
// (`req.user`, `ctx.state.user`, `request.user`), the transaction from the session.
import type { AuditEvent } from '@authtrail/core';
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import { RP_CLIENT } from '@authtrail/testbed/accounts.cjs';
import { expectNoSecrets, startRpProcess, type RpProcess } from './support/rp-process';

const types = (events: AuditEvent[]) => events.map((e) => e.type);

describe.each([
  { name: 'Express', adapter: 'express', stack: 'passport + express-session' },
  { name: 'Koa', adapter: 'koa', stack: 'koa-passport + koa-session' },
  { name: 'Fastify', adapter: 'fastify', stack: '@fastify/passport + @fastify/session' },
] as const)('$name relying party on $stack + openid-client/passport', ({ adapter }) => {
  let rp: RpProcess;
  const browsers: Browser[] = [];
  const browser = () => {
    const b = new Browser();
    browsers.push(b);
    return b;
  };

  beforeAll(async () => {
    rp = await startRpProcess('passport-rp-server.mjs', { FRAMEWORK: adapter });
  }, 30_000);
  afterAll(() => rp?.stop());

  /** The RP's events written after `before` of them. */
  async function rpEventsAfter(before: number): Promise<AuditEvent[]> {
    return (await rp.events('rp', 'rs')).slice(before);
  }
  const count = async () => (await rp.events('rp', 'rs')).length;

  test("logs authn.login_start.success then authn.login.success with Passport's user, the client and one flow id", async () => {
    const before = await count();
    const { page } = await login(browser(), rp.rpUrl, { user: 'alice' });
    expect(page.body).toBe('hello alice');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.success']);
    const [start, done] = events as [AuditEvent, AuditEvent];
    expect(start).toMatchObject({
      outcome: 'success',
      observer: { role: 'rp', service: 'passport-rp', adapter },
      client: { id: RP_CLIENT.id },
      oauth: { scope: ['openid', 'profile'] },
      http: { method: 'GET', path: '/login', status: 302 },
    });
    expect(done).toMatchObject({
      outcome: 'success',
      observer: { role: 'rp', adapter },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      oauth: { issuer: rp.issuer },
      http: { method: 'GET', path: '/callback', status: 302 },
    });
    expect(done.reason).toBeUndefined();
    expect(done.user).not.toHaveProperty('name'); // profile fields are opt-in
    // The strategy sends PKCE alone (no nonce, no state): the flow id is the challenge's keyed
    // hash at the start, and the verifier's (through its challenge) at the callback.
    expect(start.flow?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(done.flow).toEqual(start.flow);
  });

  test('logs authn.login.failure with reason idp_error and error.code access_denied when consent is denied', async () => {
    const before = await count();
    const { page } = await login(browser(), rp.rpUrl, { user: 'bob', deny: true });
    expect(page.body).toBe('signed out'); // Passport's failureRedirect
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.failure']);
    const failure = events[1]!;
    expect(failure).toMatchObject({
      outcome: 'failure',
      observer: { role: 'rp' },
      reason: 'idp_error',
      error: { code: 'access_denied' },
      http: { path: '/callback', status: 302 },
    });
    expect(failure.user).toBeUndefined();
    expect(failure.flow).toEqual(events[0]!.flow);
  });

  test('logs authn.login.failure with reason missing_transaction for a callback replayed in another browser and in the same one', async () => {
    const victim = browser();
    const { callbackUrl } = await login(victim, rp.rpUrl, { user: 'alice' });
    const before = await count();
    const replay = await browser().request(callbackUrl);
    expect(replay.status).toBe(302);
    expect(replay.location).toBe(`${rp.rpUrl}/signed-out`);
    // The browser that logged in: its session was regenerated at login, the transaction is gone.
    const again = await victim.request(callbackUrl);
    expect(again.status).toBe(302);
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login.failure', 'authn.login.failure']);
    for (const e of events) {
      expect(e).toMatchObject({ reason: 'missing_transaction', http: { status: 302 } });
      expect(e.user).toBeUndefined();
      expect(e.flow).toBeUndefined(); // no transaction came back, nothing names the flow
    }
  });

  test('logs authn.login.failure with reason state_mismatch when a state is slipped into the callback', async () => {
    const before = await count();
    const { page } = await login(browser(), rp.rpUrl, {
      user: 'alice',
      tamper: (url: string) => `${url}&state=eyJyZXR1cm5UbyI6Imh0dHBzOi8vZXZpbC5leGFtcGxlIn0`,
    });
    expect(page.status).toBe(500);
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.failure']);
    expect(events[1]).toMatchObject({ reason: 'state_mismatch', http: { status: 500 } });
    expect(events[1]!.flow).toEqual(events[0]!.flow);
  });

  test("logs authn.session.failure (role rp, reason session_missing) for the RP's own page refusing a browser, and nothing once signed in", async () => {
    const b = browser();
    const before = await count();
    expect((await b.request(`${rp.rpUrl}/account`)).status).toBe(401);
    await login(b, rp.rpUrl, { user: 'bob' });
    expect((await b.request(`${rp.rpUrl}/account`)).body).toBe('account of bob');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual([
      'authn.session.failure',
      'authn.login_start.success',
      'authn.login.success',
    ]);
    expect(events[0]).toMatchObject({
      outcome: 'failure',
      observer: { role: 'rp' },
      reason: 'session_missing',
      http: { path: '/account', status: 401 },
    });
    expect(events[0]!.user).toBeUndefined();
    expect(events[0]!.oauth).toBeUndefined();
  });

  test('logs authn.logout.success with the user Passport signed out', async () => {
    const b = browser();
    await login(b, rp.rpUrl, { user: 'alice' });
    const before = await count();
    const out = await b.request(`${rp.rpUrl}/logout`);
    expect(out.status).toBe(302);
    expect((await b.request(`${rp.rpUrl}/`)).body).toBe('signed out');
    const events = await rpEventsAfter(before);
    expect(types(events)).toEqual(['authn.logout.success']);
    expect(events[0]).toMatchObject({
      observer: { role: 'rp' },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      http: { path: '/logout', status: 302 },
    });
  });

  test('secret canary: no code, state, cookie, session id, PKCE verifier, token or client secret in any byte written', async () => {
    const secrets = [...(await rp.secrets()), ...browsers.flatMap((b) => [...b.secrets])];
    expectNoSecrets(await rp.text(), secrets);
  });
});
