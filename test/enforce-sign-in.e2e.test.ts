// Enforcement end to end at real oidc-provider sign-in forms (test/support/enforce-sign-in-server.mjs):
// the testbed's form (an Express route with express.urlencoded) and the provider's own
// devInteractions form (parsed by oidc-provider's selective body parser, audited by @authtrail/koa).
// Another client address is a real one: the loopback 127.0.0.2, bound as the request's local address.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AuditEvent } from '@authtrail/core';
import { Browser } from '@authtrail/testbed/browser.cjs';
import accounts from '@authtrail/testbed/accounts.cjs';
import { startRpProcess, type RpProcess } from './support/rp-process';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, USERS } = accounts;
const hash = (value: string) =>
  createHmac('sha256', AUDIT_FINGERPRINT_KEY)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
const WRONG = Array.from({ length: 11 }, (_, i) => `not-wonderland-canary-${i}-41d9`);
const LOCKOUT_S = 3;

let op: RpProcess;
beforeAll(async () => {
  op = await startRpProcess('enforce-sign-in-server.mjs', { LOCKOUT_S: String(LOCKOUT_S) });
});
afterAll(async () => {
  await op?.stop();
});

const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

/** A fresh browser at `issuer`'s sign-in form: its form's action. */
async function signInForm(issuer: string): Promise<{ browser: Browser; action: string }> {
  const browser = new Browser();
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: RP_CLIENT.id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://127.0.0.1:9/callback',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const page = await browser.go(url.href);
  const action = /action="([^"]+\/(?:login|[\w-]{20,}))"/.exec(page.body)![1]!;
  return { browser, action: new URL(action, issuer).href };
}

/** Posts a form from `localAddress` (127.0.0.2: another client) with the browser's cookies. */
function postFrom(
  localAddress: string,
  browser: Browser,
  action: string,
  form: Record<string, string>,
): Promise<{ status: number; retryAfter?: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      action,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          cookie: browser.cookieHeader(action) ?? '',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(read: () => Promise<AuditEvent[]>, type: string, ms: number) {
  const start = Date.now();
  for (;;) {
    const found = (await read()).filter((e) => e.type === type);
    if (found.length > 0 || Date.now() - start > ms) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('ten wrong passwords at the provider form lock alice for that IP: the 11th and the right password get 429 with Retry-After; alice from 127.0.0.2 and bob from 127.0.0.1 sign in; after the lock ends, recorded, the right password works; no password in any event', async () => {
  const { browser, action } = await signInForm(op.issuer);
  for (const password of WRONG.slice(0, 10)) {
    const answer = await browser.request(action, {
      method: 'POST',
      form: { username: 'alice', password },
    });
    expect(answer.status).toBe(200);
  }
  const [lockout] = await waitFor(() => op.events(), 'authn.lockout.success', 2000);
  expect(lockout).toMatchObject({
    observer: { role: 'op', service: 'demo-op' },
    user: { hash: hash('alice') },
    source: { ip: '127.0.0.1' },
    lockout: { key: hash(`${hash('alice')}\u0000127.0.0.1`), lockout_s: LOCKOUT_S },
  });

  for (const password of [WRONG[10]!, USERS.alice!.password]) {
    const refused = await browser.request(action, {
      method: 'POST',
      form: { username: 'alice', password },
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= LOCKOUT_S).toBe(true);
  }

  // Alice from another address, bob from the locked one: each signs in (a redirect on).
  const other = await signInForm(op.issuer);
  const elsewhere = await postFrom('127.0.0.2', other.browser, other.action, {
    username: 'alice',
    password: USERS.alice!.password,
  });
  expect(elsewhere.status).toBe(303);
  const bob = await signInForm(op.issuer);
  const bobAnswer = await bob.browser.request(bob.action, {
    method: 'POST',
    form: { username: 'bob', password: USERS.bob!.password },
  });
  expect(bobAnswer.status).toBe(303);

  const events = await op.events();
  const refusals = events.filter((e) => e.reason === 'account_locked');
  expect(refusals).toHaveLength(2);
  for (const e of refusals)
    expect(e).toMatchObject({
      type: 'authn.login.failure',
      user: { hash: hash('alice') },
      source: { ip: '127.0.0.1' },
      http: { status: 429 },
    });
  expect(events.filter((e) => e.type === 'authn.login.failure')).toHaveLength(12);

  // The lock ends on its own, recorded; then alice's right password from 127.0.0.1 works.
  const [ended] = await waitFor(
    () => op.events(),
    'authn.lockout_end.success',
    (LOCKOUT_S + 2) * 1000,
  );
  expect(ended).toMatchObject({ lockout: { key: lockout!.lockout!.key } });
  const after = await browser.request(action, {
    method: 'POST',
    form: { username: 'alice', password: USERS.alice!.password },
  });
  expect(after.status).toBe(303);

  const text = await op.text();
  for (const password of [...WRONG, USERS.alice!.password, USERS.bob!.password])
    expect(text).not.toContain(password);
});

test("the provider's own devInteractions form: a locked account's attempt gets 429 before the provider reads the form; another account from that IP signs in, its form read once and handed to the provider", async () => {
  const devIssuer = await op.answer<string>('/dev');
  const devEvents = async () => parse(await op.answer<string>('/dev/events'));
  await op.answer('/dev/fail');
  await waitFor(devEvents, 'authn.lockout.success', 2000);

  const locked = await signInForm(devIssuer);
  const refused = await locked.browser.request(locked.action, {
    method: 'POST',
    form: { prompt: 'login', login: 'alice', password: 'any-canary-7f3e' },
  });
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

  const bob = await signInForm(devIssuer);
  const bobAnswer = await bob.browser.request(bob.action, {
    method: 'POST',
    form: { prompt: 'login', login: 'bob', password: 'any-canary-7f3e' },
  });
  // The provider read bob's form (authtrail's, from req.body) and finished the login: on to resume.
  expect(bobAnswer.status).toBe(303);
  expect(bobAnswer.headers.get('location')).toMatch(/\/auth\//);

  const events = await devEvents();
  expect(events.filter((e) => e.reason === 'account_locked')).toEqual([
    expect.objectContaining({ type: 'authn.login.failure', user: { hash: hash('alice') } }),
  ]);
  expect(JSON.stringify(events)).not.toContain('any-canary-7f3e');
});
