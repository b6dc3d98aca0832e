// The provider's own sign-in form: a Koa app with its login and consent pages in front of a real
// node-oidc-provider, one auditor on both (`signIn: { routes: 'POST /interaction/:uid/login' }`).
// A scripted browser signs in with wrong and right passwords; the audit file is read back.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import { startRpProcess, type RpProcess } from './support/rp-process';
import { Browser } from '@authtrail/testbed/browser.cjs';

const FINGERPRINT_KEY = 'op-sign-in-test-fingerprint-key-3c9d1e7f5a2b';
const USERS = { alice: { password: 'rabbit-hole-canary-81f3' } };
const CLIENT = {
  id: 'sign-in-client',
  secret: 'sign-in-client-secret-canary-5e2d',
  redirectUri: 'http://127.0.0.1:9/cb',
};
// Wrong passwords are secrets too: often a real password with a typo, or another site's.
const WRONG = ['rabbit-hole-canary-81f4', 'mallory-guess-canary-77aa', 'second-try-canary-19bc'];

function startOp(env: Record<string, string> = {}): Promise<RpProcess> {
  return startRpProcess('op-sign-in-server.mjs', {
    ...env,
    FINGERPRINT_KEY,
    USERS: JSON.stringify(USERS),
    CLIENT: JSON.stringify(CLIENT),
  });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

const hash = (value: string) =>
  createHmac('sha256', FINGERPRINT_KEY)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('base64url');

/** Opens an authorization request (PKCE, nonce) and answers with the sign-in page. */
async function authorize(op: RpProcess, browser: Browser) {
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(`${op.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: CLIENT.id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: CLIENT.redirectUri,
    state: randomBytes(16).toString('base64url'),
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const page = await browser.go(url.href);
  expect(page.body).toContain('/login"');
  return { page, verifier, nonce };
}

/** Follows redirects until the provider sends the browser back to the client: the code. */
async function followToClient(
  browser: Browser,
  response: { location?: string; status: number; body: string },
): Promise<string> {
  while (response.location && !response.location.startsWith(CLIENT.redirectUri)) {
    response = await browser.request(response.location);
    if (response.status === 200 && /\/confirm"/.test(response.body)) {
      const action = /action="([^"]+)"/.exec(response.body)![1]!;
      response = await browser.request(new URL(action, op.issuer).href, {
        method: 'POST',
        form: {},
      });
    }
  }
  return new URL(response.location!).searchParams.get('code')!;
}

let op: RpProcess;
beforeAll(async () => {
  op = await startOp();
});
afterAll(async () => {
  await op?.stop();
});

const summary = (events: AuditEvent[]) =>
  events.map((e) => [e.type, e.reason ?? null, e.user?.id ?? null, e.user?.hash ?? null]);

test('wrong passwords at the provider form are authn.login.failure invalid_credentials, the account pseudonymised until it signed in; the right one gives the usual events', async () => {
  const browser = new Browser();
  const { page, verifier, nonce } = await authorize(op, browser);
  const loginUrl = /action="([^"]+\/login)"/.exec(page.body)![1]!;
  const action = new URL(loginUrl, op.issuer).href;
  const before = (await op.events()).length;

  // alice has never signed in here: her name is as unknown as mallory's.
  const first = await browser.request(action, {
    method: 'POST',
    form: { username: 'alice', password: WRONG[0]! },
    headers: { traceparent: TRACEPARENT },
  });
  expect(first.status).toBe(200);
  await browser.request(action, {
    method: 'POST',
    form: { username: 'mallory', password: WRONG[1]! },
  });
  // The right password finishes the interaction: the provider resumes, then asks for consent.
  const ok = await browser.request(action, {
    method: 'POST',
    form: { username: 'alice', password: USERS.alice.password },
    headers: { traceparent: TRACEPARENT },
  });
  expect(ok.status).toBe(303);
  const code = await followToClient(browser, ok);
  const token = await fetch(`${op.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT.redirectUri,
      code_verifier: verifier,
    }),
  });
  const tokens = (await token.json()) as { access_token: string; id_token: string };
  expect(token.status).toBe(200);

  const events = (await op.events()).slice(before);
  expect(summary(events)).toEqual([
    ['authn.login.failure', 'invalid_credentials', null, hash('alice')],
    ['authn.login.failure', 'invalid_credentials', null, hash('mallory')],
    ['authn.mfa_verify.success', null, 'alice', null],
    ['authn.login.success', null, 'alice', null],
    ['oauth.consent_grant.success', null, 'alice', null],
    ['oauth.authorize.success', null, 'alice', null],
    ['oauth.token_issue.success', null, 'alice', null],
  ]);
  const failure = events[0]!;
  expect(failure.observer.role).toBe('op');
  expect(failure.http).toMatchObject({
    method: 'POST',
    route: '/interaction/:uid/login',
    path: '/interaction/:uid/login',
    status: 200,
  });
  expect(failure.source?.user_agent).toBe('authtrail-demo-browser/1.0');
  expect(failure.source?.ip).toBe('127.0.0.1');
  expect(failure.trace).toEqual({ id: TRACE_ID, span_id: SPAN_ID });
  // The manual event recorded through ctx.audit carries its request's context.
  expect(events[2]!.http).toMatchObject({ method: 'POST', route: '/interaction/:uid/login' });
  expect(events[2]!.http?.duration_ms).toBeUndefined();
  expect(events[2]!.source?.user_agent).toBe('authtrail-demo-browser/1.0');
  expect(events[2]!.trace).toEqual({ id: TRACE_ID, span_id: SPAN_ID });
  // The provider's login success is tied to the authorization request by its nonce.
  expect(events[3]!.flow).toEqual({ id: hash(nonce) });

  // Now alice is known: a wrong password names her account.
  const second = new Browser();
  const again = await authorize(op, second);
  const mark = (await op.events()).length;
  const retry = /action="([^"]+\/login)"/.exec(again.page.body)![1]!;
  await second.request(new URL(retry, op.issuer).href, {
    method: 'POST',
    form: { username: 'alice', password: WRONG[2]! },
  });
  expect(summary((await op.events()).slice(mark))).toEqual([
    ['authn.login.failure', 'invalid_credentials', 'alice', null],
  ]);

  // The canary: no password, right or wrong, no code, token or client secret anywhere in the log.
  const text = await op.text();
  for (const secret of [
    USERS.alice.password,
    ...WRONG,
    CLIENT.secret,
    code,
    tokens.access_token,
    tokens.id_token,
    verifier,
    nonce,
    ...browser.secrets,
    ...second.secrets,
  ])
    expect(text).not.toContain(secret);
});

test('a sign-in form that answers 401 gives the same failure', async () => {
  const strict = await startOp({ FAIL_STATUS: '401' });
  try {
    const browser = new Browser();
    const { page } = await authorize(strict, browser);
    const action = new URL(/action="([^"]+\/login)"/.exec(page.body)![1]!, strict.issuer).href;
    const before = (await strict.events()).length;
    const refused = await browser.request(action, {
      method: 'POST',
      form: { username: 'nobody@example.com', password: WRONG[1]! },
    });
    expect(refused.status).toBe(401);
    const events = (await strict.events()).slice(before);
    expect(summary(events)).toEqual([
      ['authn.login.failure', 'invalid_credentials', null, hash('nobody@example.com')],
    ]);
    expect(events[0]!.http?.status).toBe(401);
    const text = await strict.text();
    expect(text).not.toContain('nobody@example.com');
    expect(text).not.toContain(WRONG[1]);
  } finally {
    await strict.stop();
  }
});
