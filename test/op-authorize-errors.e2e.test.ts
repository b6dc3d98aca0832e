// The provider's authorization endpoint, failing: a real node-oidc-provider audited by
// @authtrail/koa answers raw authorization requests (fetch, redirect: 'manual') with an error it
// redirects, posts (form_post) or renders on its own error page. Each answer must be an
// oauth.authorize.failure whose error.code is the OAuth error the client was told, whose reason is
// that error, naming the client that tried; no state, nonce, code_challenge, redirect_uri query or
// cookie may reach the audit bytes.
import { createHash, createHmac } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import { startRpProcess, type RpProcess } from './support/rp-process';
import { Browser, parseForms } from '@authtrail/testbed/browser.cjs';

const FINGERPRINT_KEY = 'authorize-errors-fingerprint-key-6e1d0c9b8a7f';
const CLIENTS = {
  web: { client_id: 'web-app', client_secret: 'web-app-secret-canary-3f9a1c7e5d2b' },
  spa: { client_id: 'spa' },
  narrow: { client_id: 'narrow-app', client_secret: 'narrow-app-secret-canary-0d4e8b2f6a' },
};
const STATE = 'state-canary-5b0e9d2c7a41f38e';
const NONCE = 'nonce-canary-8c3f1a6e2d94b70c';
const VERIFIER = 'verifier-canary-2a7f4c9e1b6d3085f7e2a9c4b1d6e3f0';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
// A redirect_uri may carry a query with a secret in it: it must not reach the log either.
const REDIRECT_SECRET = 'redirect-query-canary-7c1e9a3f5b2d';

function startOp(): Promise<RpProcess> {
  return startRpProcess('authorize-errors-server.mjs', {
    CONFIG: JSON.stringify({
      CLIENTS,
      FINGERPRINT_KEY,
      COOKIE_SECRET: 'authorize-errors-cookie-secret-4f8b2e6a1c9d',
    }),
  });
}

let op: RpProcess;
beforeAll(async () => {
  op = await startOp();
});
afterAll(async () => {
  await op?.stop();
});

/** Every cookie value any response set: none may reach the log. */
const cookies = new Set<string>();

const hash = (value: string) =>
  createHmac('sha256', FINGERPRINT_KEY)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('base64url');

type Answer = 'redirect' | 'form_post' | 'page';

/**
 * Sends one authorization request and reads the answer as the client (or the user) gets it: the
 * error in the redirect's query or fragment, in the form posted to the client, or on the page.
 */
async function authorize(
  overrides: Record<string, string | undefined>,
): Promise<{ answer: Answer; error?: string; status: number }> {
  const params: Record<string, string | undefined> = {
    client_id: CLIENTS.web.client_id,
    redirect_uri: `${op.rpUrl}/callback`,
    response_type: 'code',
    scope: 'openid',
    state: STATE,
    nonce: NONCE,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const url = new URL(`${op.issuer}/auth`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  for (const line of res.headers.getSetCookie()) cookies.add(line.split(';')[0]!.split('=')[1]!);
  const body = await res.text();
  const location = res.headers.get('location');
  if (location) {
    const to = new URL(location);
    const error = (to.hash ? new URLSearchParams(to.hash.slice(1)) : to.searchParams).get('error');
    return { answer: 'redirect', error: error ?? undefined, status: res.status };
  }
  const posted = parseForms(body, url.href).find((f) => f.action === params.redirect_uri);
  if (posted) return { answer: 'form_post', error: posted.fields.error, status: res.status };
  // oidc-provider's default error page lists the error's fields, one <pre> each.
  const shown = /<strong>error<\/strong>: ([a-z_]+)/.exec(body)?.[1];
  return { answer: 'page', error: shown, status: res.status };
}

const since = async (mark: number, role: 'op' | 'rp' = 'op') =>
  (await op.events()).slice(mark).filter((e) => e.observer.role === role);

const summary = (events: AuditEvent[]) =>
  events.map((e) => [e.type, e.reason ?? null, e.error?.code ?? null, e.client?.id ?? null]);

test("the provider's very first request, an error it renders itself, carries the OAuth error", async () => {
  // Before any other request: the provider's error events must be listened to before its first.
  const res = await authorize({ client_id: 'first-caller' });
  expect([res.answer, res.status, res.error]).toEqual(['page', 400, 'invalid_client']);
  expect(summary(await since(0))).toEqual([
    ['oauth.authorize.failure', 'invalid_client', 'invalid_client', 'first-caller'],
  ]);
});

const { web, spa, narrow } = CLIENTS;
const cases: Array<[string, Record<string, string | undefined>, Answer, string, string]> = [
  [
    'an unknown client_id',
    { client_id: 'nobody-registered' },
    'page',
    'invalid_client',
    'nobody-registered',
  ],
  // oidc-provider 9 answers a response_type the client is not registered for with invalid_request
  // ("requested response_type is not allowed for this client"), not unauthorized_client.
  [
    'a response_type the client is not registered for',
    { response_type: 'id_token' },
    'redirect',
    'invalid_request',
    web.client_id,
  ],
  [
    'a response_type the client is not registered for, with form_post',
    { response_type: 'id_token', response_mode: 'form_post' },
    'form_post',
    'invalid_request',
    web.client_id,
  ],
  // The provider cannot send the error to a redirect_uri it does not trust: it renders it.
  [
    'a redirect_uri the client did not register',
    { redirect_uri: `http://127.0.0.1:9/cb?session=${REDIRECT_SECRET}` },
    'page',
    'invalid_redirect_uri',
    web.client_id,
  ],
  [
    'a redirect_uri the client did not register, with form_post',
    {
      redirect_uri: `http://127.0.0.1:9/cb?session=${REDIRECT_SECRET}`,
      response_mode: 'form_post',
    },
    'page',
    'invalid_redirect_uri',
    web.client_id,
  ],
  [
    'a response_type the provider does not support',
    { response_type: 'token' },
    'redirect',
    'unsupported_response_type',
    web.client_id,
  ],
  [
    'a response_mode the provider does not support',
    { response_mode: 'carrier_pigeon' },
    'redirect',
    'unsupported_response_mode',
    web.client_id,
  ],
  [
    'a missing response_type',
    { response_type: undefined },
    'redirect',
    'invalid_request',
    web.client_id,
  ],
  [
    'a scope the client may not ask for',
    { client_id: narrow.client_id, scope: 'openid email' },
    'redirect',
    'invalid_scope',
    narrow.client_id,
  ],
  [
    'a scope the client may not ask for, with form_post',
    { client_id: narrow.client_id, scope: 'openid email', response_mode: 'form_post' },
    'form_post',
    'invalid_scope',
    narrow.client_id,
  ],
  [
    'a public client without the PKCE the provider requires of it',
    { client_id: spa.client_id, code_challenge: undefined, code_challenge_method: undefined },
    'redirect',
    'invalid_request',
    spa.client_id,
  ],
  [
    'a PKCE method the provider refuses (plain)',
    { client_id: spa.client_id, code_challenge_method: 'plain' },
    'redirect',
    'invalid_request',
    spa.client_id,
  ],
  // A silent sign-in check nobody is signed in for: the client's expected answer, still no code.
  [
    'prompt=none without a session at the provider',
    { prompt: 'none' },
    'redirect',
    'login_required',
    web.client_id,
  ],
];

test.each(cases)(
  'logs oauth.authorize.failure for %s, with the OAuth error as reason and error.code and the client',
  async (_title, overrides, answer, code, client) => {
    const mark = (await op.events()).length;
    const res = await authorize(overrides);
    // What the client (or the user, on the page) was told is what the event says.
    expect([res.answer, res.error]).toEqual([answer, code]);
    const events = await since(mark);
    expect(summary(events)).toEqual([['oauth.authorize.failure', code, code, client]]);
    // The nonce is there only as its keyed hash (the flow id that joins the RP's events).
    expect(events[0]!.flow?.id).toBe(hash(NONCE));
    expect(events[0]!.http?.status).toBe(res.status);
  },
);

test("express-openid-connect's defaults (id_token, form_post) against a code-only client: the provider's failure says why and shares the RP's flow id", async () => {
  const browser = new Browser();
  const mark = (await op.events()).length;
  const start = await browser.request(`${op.rpUrl}/login`);
  const to = new URL(start.location!);
  expect([
    to.origin,
    to.searchParams.get('response_type'),
    to.searchParams.get('response_mode'),
  ]).toEqual([op.issuer, 'id_token', 'form_post']);
  cookies.add(to.searchParams.get('nonce')!);
  const page = await browser.request(to.href);
  const posted = parseForms(page.body, page.url).find((f) => f.action === `${op.rpUrl}/callback`);
  expect([page.status, posted?.fields.error]).toEqual([400, 'invalid_request']);
  for (const s of browser.secrets) cookies.add(s);
  const events = await op.events();
  const opEvents = events.slice(mark).filter((e) => e.observer.role === 'op');
  const loginStart = events.slice(mark).find((e) => e.type === 'authn.login_start.success');
  expect(summary(opEvents)).toEqual([
    ['oauth.authorize.failure', 'invalid_request', 'invalid_request', web.client_id],
  ]);
  expect(loginStart?.flow?.id).toBe(hash(to.searchParams.get('nonce')!));
  expect(opEvents[0]!.flow?.id).toBe(loginStart?.flow?.id);
});

test('no state, nonce, code_challenge, redirect_uri query, client secret or cookie reached the audit bytes', async () => {
  const text = await op.text();
  expect(text).toContain('invalid_redirect_uri'); // the log holds the failures above
  const secrets = [
    STATE,
    NONCE,
    CHALLENGE,
    VERIFIER,
    REDIRECT_SECRET,
    web.client_secret,
    narrow.client_secret,
    ...cookies,
  ];
  expect(cookies.size).toBeGreaterThan(0);
  for (const s of secrets) if (s && s.length >= 8) expect(text).not.toContain(s);
});
