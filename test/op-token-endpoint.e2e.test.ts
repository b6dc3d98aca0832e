// End-to-end on the provider's token, revocation and introspection endpoints: a real
// node-oidc-provider audited by @authtrail/koa, called over real HTTP as clients call it (Basic and
// client_secret_post authentication, raw form posts). Each failure must name the client that tried
// and the OAuth error as its reason; no client secret may reach the audit bytes.
import type { AuditEvent } from '@authtrail/core';
import { Browser, login, parseForms } from '@authtrail/testbed/browser.cjs';
import {
  API_AUDIENCE,
  CLI_CLIENT,
  MACHINE_CLIENT,
  SHORT_CLIENT,
  USERS,
} from '@authtrail/testbed/accounts.cjs';
import { startStackProcess, type StackProcess } from './support/stack-process';

let stack: StackProcess;
let endpoints: { token: string; revocation: string; introspection: string };
const secrets = new Set<string>();

beforeAll(async () => {
  stack = await startStackProcess();
  const discovery = (await (
    await fetch(`${stack.issuer}/.well-known/openid-configuration`)
  ).json()) as Record<string, string>;
  endpoints = {
    token: discovery.token_endpoint!,
    revocation: discovery.revocation_endpoint!,
    introspection: discovery.introspection_endpoint!,
  };
});
afterAll(async () => {
  await stack?.stop();
});

const summary = (events: AuditEvent[]) =>
  events.map((e) => [e.type, e.reason ?? null, e.error?.code ?? null, e.client?.id ?? null]);

// RFC 6749 2.3.1: the id and the secret are form-encoded before they are joined and base64-encoded.
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POSTs a form to one of the provider's endpoints, authenticating with Basic or in the body. */
async function post(
  endpoint: keyof typeof endpoints,
  form: Record<string, string>,
  auth: { basic: [string, string] } | { post: [string, string] },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const fields = { ...form };
  const headers: Record<string, string> = {};
  if ('basic' in auth) headers.authorization = basic(...auth.basic);
  else [fields.client_id, fields.client_secret] = auth.post;
  const res = await fetch(endpoints[endpoint], {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Signs alice in with a browser and returns the authorization code of the CLI client. */
async function authorizationCode(browser = new Browser()): Promise<string> {
  const auth = await stack.client<{ url: string; secrets: string[] }>('authUrl', {
    scope: 'openid offline_access',
  });
  for (const s of auth.result.secrets) secrets.add(s);
  let page = await browser.go(auth.result.url);
  page = await browser.submit(page, /\/login$/, {
    username: 'alice',
    password: USERS.alice.password,
  });
  const form = parseForms(page.body, page.url).find((f) => /\/confirm$/.test(f.action))!;
  let response = await browser.request(form.action, { method: 'POST', form: form.fields });
  while (response.location && !response.location.includes(CLI_CLIENT.callbackPath)) {
    response = await browser.request(response.location);
  }
  const code = new URL(response.location!).searchParams.get('code')!;
  secrets.add(code);
  return code;
}

const redirectUri = () => `${stack.rpUrl}${CLI_CLIENT.callbackPath}`;

test('a wrong client secret names the client and invalid_client, with Basic and client_secret_post', async () => {
  const wrong = 'wrong-secret-of-the-machine-client-4d5e6f';
  secrets.add(wrong);
  const mark = await stack.mark();
  const viaBasic = await post(
    'token',
    { grant_type: 'client_credentials', scope: 'read:items' },
    { basic: [MACHINE_CLIENT.id, wrong] },
  );
  const viaPost = await post(
    'token',
    { grant_type: 'client_credentials', scope: 'read:items' },
    { post: [MACHINE_CLIENT.id, wrong] },
  );
  expect([viaBasic.status, viaBasic.body.error, viaPost.status, viaPost.body.error]).toEqual([
    401,
    'invalid_client',
    401,
    'invalid_client',
  ]);
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.token_issue.failure', 'invalid_client', 'invalid_client', MACHINE_CLIENT.id],
    ['oauth.token_issue.failure', 'invalid_client', 'invalid_client', MACHINE_CLIENT.id],
  ]);
  expect(events.map((e) => e.oauth?.grant_type)).toEqual([
    'client_credentials',
    'client_credentials',
  ]);
});

test('a client the provider does not know is named by its Basic user name or its client_id, never by its secret', async () => {
  const secret = 'secret-of-a-client-nobody-registered-7a8b9c';
  secrets.add(secret);
  const mark = await stack.mark();
  // The user name is form-encoded (RFC 6749 2.3.1): the event holds the decoded id.
  const viaBasic = await post(
    'token',
    { grant_type: 'client_credentials' },
    { basic: ['ghost client:1', secret] },
  );
  const viaPost = await post(
    'token',
    { grant_type: 'client_credentials' },
    { post: ['ghost-2', secret] },
  );
  expect([viaBasic.body.error, viaPost.body.error]).toEqual(['invalid_client', 'invalid_client']);
  expect(summary(await stack.eventsSince(mark, 'op'))).toEqual([
    ['oauth.token_issue.failure', 'invalid_client', 'invalid_client', 'ghost client:1'],
    ['oauth.token_issue.failure', 'invalid_client', 'invalid_client', 'ghost-2'],
  ]);
});

test('an unknown and a replayed authorization code give invalid_grant with the client', async () => {
  const code = await authorizationCode();
  const grant = (c: string) =>
    post(
      'token',
      { grant_type: 'authorization_code', code: c, redirect_uri: redirectUri() },
      { basic: [CLI_CLIENT.id, CLI_CLIENT.secret] },
    );
  const mark = await stack.mark();
  const forged = await grant('forged-authorization-code-0123456789abcdef');
  // Without its PKCE verifier the real code is refused, and consumed: a second use is a replay.
  const first = await grant(code);
  const replay = await grant(code);
  expect([forged.body.error, first.body.error, replay.body.error]).toEqual([
    'invalid_grant',
    'invalid_grant',
    'invalid_grant',
  ]);
  const events = await stack.eventsSince(mark, 'op');
  expect(summary(events)).toEqual([
    ['oauth.token_issue.failure', 'invalid_grant', 'invalid_grant', CLI_CLIENT.id],
    ['oauth.token_issue.failure', 'invalid_grant', 'invalid_grant', CLI_CLIENT.id],
    ['oauth.token_issue.failure', 'invalid_grant', 'invalid_grant', CLI_CLIENT.id],
  ]);
  for (const e of events) expect(e.oauth?.grant_type).toBe('authorization_code');
});

test('an unsupported grant type and a resource that is no URI are their own reasons', async () => {
  const mark = await stack.mark();
  const password = await post(
    'token',
    { grant_type: 'password', username: 'alice', password: USERS.alice.password },
    { basic: [MACHINE_CLIENT.id, MACHINE_CLIENT.secret] },
  );
  const target = await post(
    'token',
    { grant_type: 'client_credentials', scope: 'read:items', resource: 'not-an-absolute-uri' },
    { basic: [MACHINE_CLIENT.id, MACHINE_CLIENT.secret] },
  );
  expect([password.body.error, target.body.error]).toEqual([
    'unsupported_grant_type',
    'invalid_target',
  ]);
  expect(summary(await stack.eventsSince(mark, 'op'))).toEqual([
    [
      'oauth.token_issue.failure',
      'unsupported_grant_type',
      'unsupported_grant_type',
      MACHINE_CLIENT.id,
    ],
    ['oauth.token_issue.failure', 'invalid_target', 'invalid_target', MACHINE_CLIENT.id],
  ]);
});

test('revocation and introspection name the client whose authentication failed', async () => {
  const wrong = 'wrong-secret-of-the-cli-client-1f2e3d';
  secrets.add(wrong);
  const mark = await stack.mark();
  const revoke = await post(
    'revocation',
    { token: 'some-token-value-0123456789' },
    { basic: [CLI_CLIENT.id, wrong] },
  );
  const introspect = await post(
    'introspection',
    { token: 'some-token-value-0123456789' },
    { post: ['nobody-registered', wrong] },
  );
  expect([revoke.status, introspect.status]).toEqual([401, 401]);
  expect(summary(await stack.eventsSince(mark, 'op'))).toEqual([
    ['oauth.token_revoke.failure', 'invalid_client', 'invalid_client', CLI_CLIENT.id],
    ['oauth.token_introspect.failure', 'invalid_client', 'invalid_client', 'nobody-registered'],
  ]);
});

test('a token issued for a resource carries its audience', async () => {
  const mark = await stack.mark();
  const other = 'https://reports.example/api';
  const asked = await post(
    'token',
    { grant_type: 'client_credentials', scope: 'read:items', resource: other },
    { basic: [MACHINE_CLIENT.id, MACHINE_CLIENT.secret] },
  );
  // Without a resource, the provider's default resource for an API scope.
  const defaulted = await post(
    'token',
    { grant_type: 'client_credentials', scope: 'read:items' },
    { basic: [MACHINE_CLIENT.id, MACHINE_CLIENT.secret] },
  );
  expect([asked.status, defaulted.status]).toEqual([200, 200]);
  secrets.add(asked.body.access_token as string);
  secrets.add(defaulted.body.access_token as string);
  const events = await stack.eventsSince(mark, 'op');
  expect(events.map((e) => [e.type, e.oauth?.audience])).toEqual([
    ['oauth.token_issue.success', [other]],
    ['oauth.token_issue.success', [API_AUDIENCE]],
  ]);
});

test('the provider session id (hashed) ties a sign-in, its consent and its authorization; other browsers differ', async () => {
  const mark = await stack.mark();
  await authorizationCode();
  await authorizationCode();
  const events = (await stack.eventsSince(mark, 'op')).filter(
    (e) => e.type !== 'authn.login.success',
  );
  expect(events.map((e) => e.type)).toEqual([
    'oauth.consent_grant.success',
    'oauth.authorize.success',
    'oauth.consent_grant.success',
    'oauth.authorize.success',
  ]);
  const ids = events.map((e) => e.session?.id);
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(ids[0]).toBe(ids[1]);
  expect(ids[2]).toBe(ids[3]);
  expect(ids[0]).not.toBe(ids[2]);
});

test('a logout at the provider carries the session id of the sign-in it ends', async () => {
  const browser = new Browser();
  const mark = await stack.mark();
  await login(browser, stack.rpUrl, { user: 'bob' });
  const page = await browser.go(`${stack.rpUrl}/logout`);
  await browser.submit(page, /session\/end\/confirm/, { logout: 'yes' });
  const events = await stack.eventsSince(mark, 'op');
  const authorized = events.find((e) => e.type === 'oauth.authorize.success');
  const loggedOut = events.find((e) => e.type === 'authn.logout.success');
  expect(authorized?.session?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(loggedOut?.session?.id).toBe(authorized?.session?.id);
  expect(loggedOut?.user?.id).toBe('bob');
});

test('no client secret, code or token reached the audit bytes', async () => {
  const text = await stack.text();
  for (const s of [
    ...secrets,
    MACHINE_CLIENT.secret,
    CLI_CLIENT.secret,
    SHORT_CLIENT.secret,
    Buffer.from(`${MACHINE_CLIENT.id}:${MACHINE_CLIENT.secret}`).toString('base64'),
  ]) {
    if (s) expect(text).not.toContain(s);
  }
  expect(text).toContain('invalid_client');
});
