// End-to-end on the provider side: a real node-oidc-provider audited with
// `provider.use(authtrail({ routes: 'oidc-provider' }))` (@authtrail/koa), driven by a scripted
// browser and by real openid-client calls. Each test asserts the exact provider events.
import type { AuditEvent } from '@authtrail/core';
import { Browser, parseForms, login } from '@authtrail/testbed/browser.cjs';
import {
  AUDIT_FINGERPRINT_KEY,
  CLI_CLIENT,
  OP_COOKIE_KEY,
  SHORT_CLIENT,
  USERS,
} from '@authtrail/testbed/accounts.cjs';
import { startStackProcess, type StackProcess } from './support/stack-process';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  sub?: string;
}

let stack: StackProcess;
const secrets = new Set<string>();
const browsers: Browser[] = [];

beforeAll(async () => {
  stack = await startStackProcess();
});
afterAll(async () => {
  await stack?.stop();
});

const summary = (events: AuditEvent[]) =>
  events.map((e) => [
    e.type,
    e.reason ?? null,
    e.error?.code ?? null,
    e.user?.id ?? null,
    e.client?.id ?? null,
  ]);

function keep<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'string' && v.length >= 16) secrets.add(v);
  return value;
}

/** A full authorization-code flow: openid-client builds the request, a browser signs in, openid-client redeems the code. */
async function codeFlow(
  scope = 'openid profile offline_access',
  { deny = false } = {},
): Promise<Tokens | undefined> {
  const auth = await stack.client<{ url: string; secrets: string[] }>('authUrl', { scope });
  for (const s of auth.result.secrets) secrets.add(s);
  const browser = new Browser();
  browsers.push(browser);
  let page = await browser.go(auth.result.url);
  page = await browser.submit(page, /\/login$/, {
    username: 'alice',
    password: USERS.alice.password,
  });
  const form = parseForms(page.body, page.url).find((f) =>
    (deny ? /\/abort$/ : /\/confirm$/).test(f.action),
  );
  let response = await browser.request(form!.action, { method: 'POST', form: form!.fields });
  while (
    response.location &&
    !response.location.startsWith(`${stack.rpUrl}${CLI_CLIENT.callbackPath}`)
  ) {
    response = await browser.request(response.location);
  }
  secrets.add(new URL(response.location!).searchParams.get('code') ?? '');
  if (deny) return undefined;
  const redeemed = await stack.client<Tokens>('code', { callbackUrl: response.location });
  expect(redeemed.ok).toBe(true);
  return keep(redeemed.result);
}

test('logs login, consent, authorization and token issue of one flow, tied by the flow id', async () => {
  const mark = await stack.mark();
  const tokens = await codeFlow();
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['authn.login.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.consent_grant.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.authorize.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.token_issue.success', null, null, 'alice', CLI_CLIENT.id],
  ]);
  for (const e of events)
    expect(e.observer).toMatchObject({ role: 'op', service: 'demo-op', adapter: 'koa' });
  expect(new Set(events.map((e) => e.flow?.id)).size).toBe(1);
  expect(events[0]!.flow?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(events[1]!.oauth?.scope).toEqual(['openid', 'profile', 'offline_access']);
  expect(events[3]).toMatchObject({
    oauth: { grant_type: 'authorization_code', token: { type: 'access_token', verified: true } },
    http: { method: 'POST', path: '/token', status: 200 },
  });
  expect(events[3]!.oauth?.token?.fingerprint).toMatch(/^[A-Za-z0-9_-]{22}$/);
  // Paths of the provider carry interaction handles: the route template is logged instead.
  expect(events[0]!.http?.path).toBe('/auth/:uid');
  expect(tokens?.refresh_token).toBeDefined();
});

test('logs consent denied as oauth.consent_grant.failure (user_denied) and oauth.authorize.failure (access_denied)', async () => {
  const mark = await stack.mark();
  await codeFlow('openid profile', { deny: true });
  expect(summary(await stack.eventsSince(mark, 'op'))).toEqual([
    ['authn.login.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.consent_grant.failure', 'user_denied', 'access_denied', 'alice', CLI_CLIENT.id],
    ['oauth.authorize.failure', 'user_denied', 'access_denied', 'alice', CLI_CLIENT.id],
  ]);
});

test('logs userinfo with the user and client of the access token, and a bad token as a failure', async () => {
  const tokens = (await codeFlow('openid profile'))!;
  const mark = await stack.mark();
  const info = await stack.client('userinfo', {
    access_token: tokens.access_token,
    sub: tokens.sub,
  });
  expect(info.ok).toBe(true);
  const bad = await stack.client('userinfo', {
    access_token: 'forged-access-token-value-123456',
    sub: 'alice',
  });
  expect(bad.error).toBe('invalid_token');
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.userinfo.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.userinfo.failure', 'token_invalid', 'invalid_token', null, null],
  ]);
  expect(events[0]!.oauth?.token?.verified).toBe(true);
  expect(events[1]!.oauth?.token?.verified).toBe(false);
});

test("logs a refresh naming the refresh token it rotated, then its replay as a failure with reason token_reused (the detection is the detectors' decision)", async () => {
  const tokens = (await codeFlow())!;
  const mark = await stack.mark();
  const refreshed = await stack.client<Tokens>('refresh', { refresh_token: tokens.refresh_token });
  expect(refreshed.ok).toBe(true);
  keep(refreshed.result);
  const replay = await stack.client('refresh', { refresh_token: tokens.refresh_token });
  expect(replay.error).toBe('invalid_grant');
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.token_refresh.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.token_refresh.failure', 'token_reused', 'invalid_grant', 'alice', CLI_CLIENT.id],
  ]);
  expect(events[1]).toMatchObject({
    oauth: { grant_type: 'refresh_token', token: { type: 'refresh_token', verified: true } },
  });
  // The token spent is the one replayed; the success's own token is the new access token.
  expect(events[0]!.oauth?.presented?.fingerprint).toBe(events[1]!.oauth?.token?.fingerprint);
  expect(events[0]!.oauth?.token?.fingerprint).not.toBe(events[1]!.oauth?.token?.fingerprint);
});

test('logs introspection with whether the token was active, revocation, and a revoked refresh token used again', async () => {
  const tokens = (await codeFlow())!;
  const mark = await stack.mark();
  expect(
    (await stack.client<{ active: boolean }>('introspect', { token: tokens.refresh_token })).result
      .active,
  ).toBe(true);
  expect(
    (await stack.client('revoke', { token: tokens.refresh_token, hint: 'refresh_token' })).ok,
  ).toBe(true);
  expect(
    (await stack.client<{ active: boolean }>('introspect', { token: tokens.refresh_token })).result
      .active,
  ).toBe(false);
  expect((await stack.client('refresh', { refresh_token: tokens.refresh_token })).error).toBe(
    'invalid_grant',
  );
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.token_introspect.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.token_revoke.success', null, null, 'alice', CLI_CLIENT.id],
    ['oauth.token_introspect.success', null, null, null, CLI_CLIENT.id],
    ['oauth.token_refresh.failure', 'invalid_grant', 'invalid_grant', null, CLI_CLIENT.id],
  ]);
  expect(events.map((e) => e.oauth?.token?.active)).toEqual([true, undefined, false, undefined]);
  const fingerprints = new Set(events.map((e) => e.oauth?.token?.fingerprint));
  expect(fingerprints.size).toBe(1); // the same refresh token throughout
});

test('logs introspection of a JWT access token as a failure with unsupported_token_type', async () => {
  const machine = await stack.client<Tokens>('clientCredentials', { scope: 'read:items' });
  keep(machine.result);
  const mark = await stack.mark();
  const res = await stack.client('introspect', { token: machine.result.access_token });
  expect(res.error).toBe('unsupported_token_type');
  expect(summary(await stack.eventsSince(mark, 'op'))).toEqual([
    [
      'oauth.token_introspect.failure',
      'unsupported_token_type',
      'unsupported_token_type',
      null,
      CLI_CLIENT.id,
    ],
  ]);
});

test('logs client credentials per grant type, and a wrong client secret as invalid_client', async () => {
  const mark = await stack.mark();
  const ok = await stack.client<Tokens>('clientCredentials', { scope: 'read:items' });
  keep(ok.result);
  const wrongSecret = 'not-the-short-lived-secret-42';
  secrets.add(wrongSecret);
  const bad = await stack.client('clientCredentials', { scope: 'read:items', secret: wrongSecret });
  expect(bad.error).toBe('invalid_client');
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.token_issue.success', null, null, null, SHORT_CLIENT.id],
    // The client id is the one the caller claimed: it failed to authenticate.
    ['oauth.token_issue.failure', 'invalid_client', 'invalid_client', null, SHORT_CLIENT.id],
  ]);
  expect(events[0]!.oauth).toMatchObject({
    grant_type: 'client_credentials',
    scope: ['read:items'],
  });
  expect(events[1]!.oauth?.grant_type).toBe('client_credentials');
});

test('logs an RP-initiated logout at the provider as authn.logout.success with the user', async () => {
  const browser = new Browser();
  browsers.push(browser);
  await login(browser, stack.rpUrl, { user: 'alice' });
  const mark = await stack.mark();
  const page = await browser.go(`${stack.rpUrl}/logout`);
  await browser.submit(page, /session\/end\/confirm/, { logout: 'yes' });
  const events = await stack.eventsSince(mark);
  expect(events.map((e) => [e.observer.role, e.type, e.user?.id])).toEqual([
    ['rp', 'authn.logout.success', 'alice'],
    ['op', 'authn.logout.success', 'alice'],
  ]);
});

test('a token issued by the provider has the same fingerprint when the API sees it', async () => {
  const browser = new Browser();
  browsers.push(browser);
  const mark = await stack.mark();
  await login(browser, stack.rpUrl, { user: 'bob' });
  await browser.go(`${stack.rpUrl}/call-api`);
  const events = await stack.eventsSince(mark);
  const issued = events.find((e) => e.type === 'oauth.token_issue.success');
  const used = events.find((e) => e.type === 'api.access.success');
  expect(issued?.oauth?.token?.fingerprint).toBeDefined();
  expect(used?.oauth?.token?.fingerprint).toBe(issued?.oauth?.token?.fingerprint);
  // And the RP's login and the provider's token issue share the flow id.
  expect(
    events.find((e) => e.type === 'authn.login.success' && e.observer.role === 'rp')?.flow,
  ).toEqual(issued?.flow);
});

test('no secret of the provider flows appears in any byte the sinks wrote', async () => {
  const text = await stack.text();
  for (const s of [
    CLI_CLIENT.secret,
    SHORT_CLIENT.secret,
    OP_COOKIE_KEY,
    AUDIT_FINGERPRINT_KEY,
    USERS.alice.password,
    USERS.bob.password,
  ])
    secrets.add(s);
  for (const s of (await stack.sessions()).flatMap((x) => [
    x.access_token,
    x.id_token,
    x.refresh_token,
  ]))
    if (s) secrets.add(s);
  for (const b of browsers) for (const s of b.secrets) secrets.add(s);
  for (const s of secrets) if (s.length < 8) secrets.delete(s);
  expect(secrets.size).toBeGreaterThan(40);
  expect([...secrets].filter((s) => text.includes(s))).toEqual([]);
});
