// End-to-end: a real oidc-provider, a real Express relying party with express-openid-connect and
// a real bearer-token API with express-oauth2-jwt-bearer, audited by @authtrail/express, driven
// over HTTP on 127.0.0.1 by a scripted browser. Each test asserts the exact events written.
import { request as httpRequest } from 'node:http';
import type { AuditEvent } from '@authtrail/core';
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import {
  API_AUDIENCE,
  AUDIT_FINGERPRINT_KEY,
  OP_COOKIE_KEY,
  RP_CLIENT,
  RP_COOKIE_SECRET,
  SHORT_CLIENT,
  USERS,
} from '@authtrail/testbed/accounts.cjs';
import { startStackProcess, type StackProcess } from './support/stack-process';

let stack: StackProcess;
const browsers: Browser[] = [];
const extraSecrets = new Set<string>();
const browser = () => {
  const b = new Browser();
  browsers.push(b);
  return b;
};

beforeAll(async () => {
  stack = await startStackProcess();
});
afterAll(async () => {
  await stack?.stop();
});

const types = (events: AuditEvent[]) => events.map((e) => e.type);

async function clientCredentialsToken(scope = 'read:items'): Promise<string> {
  const res = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${SHORT_CLIENT.id}:${SHORT_CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
  });
  const { access_token } = (await res.json()) as { access_token: string };
  extraSecrets.add(access_token);
  return access_token;
}

describe('relying party (express-openid-connect)', () => {
  test('logs authn.login_start.success then authn.login.success, tied by one flow id, for a successful login', async () => {
    const mark = await stack.mark();
    await login(browser(), stack.rpUrl, { user: 'alice' });
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.success']);
    const [start, done] = events as [AuditEvent, AuditEvent];

    expect(start).toMatchObject({
      schema: 1,
      outcome: 'success',
      observer: { role: 'rp', service: 'demo-rp', adapter: 'express' },
      client: { id: RP_CLIENT.id },
      oauth: { scope: ['openid', 'profile', 'email', 'offline_access', 'read:items'] },
      http: { method: 'GET', path: '/login', status: 302 },
    });
    expect(start.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(start.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect(done).toMatchObject({
      outcome: 'success',
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      oauth: { issuer: stack.issuer },
      http: { method: 'GET', path: '/callback', status: 302 },
    });
    expect(done.reason).toBeUndefined();
    expect(done.user).not.toHaveProperty('email'); // profile fields are opt-in
    expect(done.flow?.id).toBeDefined();
    expect(done.flow).toEqual(start.flow);
    // The callback query is logged by name only: code and state values are secrets.
    expect(done.http?.query).toMatch(/code=\[redacted\]/);
    expect(done.http?.query).toMatch(/state=\[redacted\]/);
    expect(done.source?.user_agent).toBe('authtrail-demo-browser/1.0');
    expect(done.source?.ip).toBe('127.0.0.1');
  });

  test('logs one authn.login_start.success, with the flow id of the callback, for a login that starts at a requiresAuth() page', async () => {
    const mark = await stack.mark();
    await login(browser(), stack.rpUrl, { user: 'alice', start: '/call-api' });
    const events = await stack.eventsSince(mark, 'rp');
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.success']);
    const [start, done] = events as [AuditEvent, AuditEvent];
    expect(start).toMatchObject({
      observer: { role: 'rp', adapter: 'express' },
      client: { id: RP_CLIENT.id },
      oauth: { scope: ['openid', 'profile', 'email', 'offline_access', 'read:items'] },
      http: { method: 'GET', path: '/call-api', status: 302 },
    });
    expect(done).toMatchObject({ user: { id: 'alice' }, http: { path: '/callback' } });
    expect(start.flow?.id).toBeDefined();
    expect(done.flow).toEqual(start.flow);
    // Nothing of the authorization request but its client, scope and the nonce's keyed hash.
    expect(JSON.stringify(start)).not.toMatch(/nonce|state|code_challenge|redirect_uri/);
  });

  test('logs no failure at the relying party for a mistyped password at the provider, then the login', async () => {
    const mark = await stack.mark();
    await login(browser(), stack.rpUrl, { user: 'bob', wrongPassword: 'bob-typed-this-wrong-9' });
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.success']);
    expect(events[1]).toMatchObject({ user: { id: 'bob', roles: ['viewer'] } });
  });

  test('logs authn.login.failure with reason idp_error and error.code access_denied when consent is denied', async () => {
    const mark = await stack.mark();
    const { page } = await login(browser(), stack.rpUrl, { user: 'bob', deny: true });
    expect(page.status).toBe(400);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.failure']);
    expect(events[1]).toMatchObject({
      outcome: 'failure',
      reason: 'idp_error',
      error: { code: 'access_denied' },
      http: { path: '/callback', status: 400 },
    });
    expect(events[1]!.user).toBeUndefined();
    expect(events[1]!.flow).toEqual(events[0]!.flow);
    expect(events[1]!.http?.query).toMatch(/(^|&)error=access_denied(&|$)/); // allow-listed by default
  });

  test('logs authn.login.failure with reason state_mismatch when the callback state was tampered with', async () => {
    const mark = await stack.mark();
    const { page } = await login(browser(), stack.rpUrl, {
      user: 'alice',
      tamper: (url) =>
        url.replace(/state=[^&]+/, 'state=eyJyZXR1cm5UbyI6Imh0dHBzOi8vZXZpbC5leGFtcGxlIn0'),
    });
    expect(page.status).toBe(400);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['authn.login_start.success', 'authn.login.failure']);
    expect(events[1]).toMatchObject({ reason: 'state_mismatch', http: { status: 400 } });
    expect(events[1]!.flow).toEqual(events[0]!.flow);
  });

  test('logs authn.login.failure with reason missing_transaction when a callback is replayed', async () => {
    const victim = browser();
    const { callbackUrl } = await login(victim, stack.rpUrl, { user: 'alice' });

    const mark = await stack.mark();
    const attacker = browser();
    const replay = await attacker.request(callbackUrl);
    expect(replay.status).toBe(400);
    // The same browser replaying its own callback is redirected home by the library; still no login.
    const stale = await victim.request(callbackUrl);
    expect(stale.status).toBe(302);

    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['authn.login.failure', 'authn.login.failure']);
    expect(events[0]).toMatchObject({ reason: 'missing_transaction', http: { status: 400 } });
    expect(events[0]!.user).toBeUndefined();
    expect(events[1]).toMatchObject({ reason: 'missing_transaction', http: { status: 302 } });
  });

  test('logs authn.logout.success with the user who logged out', async () => {
    const b = browser();
    const mark = await stack.mark();
    await login(b, stack.rpUrl, { user: 'alice' });
    const logout = await b.request(`${stack.rpUrl}/logout`);
    expect(logout.status).toBe(302);
    expect(logout.location).toContain(`${stack.issuer}/session/end`);

    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual([
      'authn.login_start.success',
      'authn.login.success',
      'authn.logout.success',
    ]);
    expect(events[2]).toMatchObject({
      user: { id: 'alice' },
      client: { id: RP_CLIENT.id },
      http: { path: '/logout', status: 302 },
    });
    // The id_token_hint travels in the redirect: it must not be in the event.
    extraSecrets.add(new URL(logout.location!).searchParams.get('id_token_hint') ?? '');
  });

  test('logs nothing for pages without auth', async () => {
    const mark = await stack.mark();
    const home = await browser().request(`${stack.rpUrl}/`);
    expect(home.status).toBe(200);
    expect(await stack.eventsSince(mark, 'rp', 'rs')).toEqual([]);
  });
});

describe('bearer-token API (express-oauth2-jwt-bearer)', () => {
  test('logs api.access.success with the verified user, client, scopes, audience and fingerprint for a valid token', async () => {
    await login(browser(), stack.rpUrl, { user: 'alice' });
    const sessions = await stack.sessions();
    const token = sessions[sessions.length - 1]!.access_token;
    const mark = await stack.mark();
    const res = await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-42' },
    });
    expect(res.status).toBe(200);
    const again = await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(again.status).toBe(200);

    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['api.access.success', 'api.access.success']);
    expect(events[0]).toMatchObject({
      outcome: 'success',
      observer: { role: 'rs', service: 'demo-api', adapter: 'express' },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      oauth: {
        issuer: stack.issuer,
        scope: ['read:items'],
        audience: [API_AUDIENCE],
        token: { type: 'access_token', verified: true, alg: 'RS256' },
      },
      http: { method: 'GET', path: '/api/items', status: 200, request_id: 'req-42' },
    });
    expect(events[0]!.oauth?.token?.fingerprint).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events[0]!.oauth?.token?.expires_at).toMatch(/Z$/);
    // Same token, same fingerprint: calls can be correlated without logging the token.
    expect(events[1]!.oauth?.token?.fingerprint).toBe(events[0]!.oauth?.token?.fingerprint);
    expect(events[0]!.http?.duration_ms).toBeGreaterThan(0);
  });

  test('logs api.authn.failure with reason token_expired (claims unverified) for an expired token', async () => {
    const token = await clientCredentialsToken();
    await new Promise((r) => setTimeout(r, 1100)); // the short-lived client's tokens live 1 s
    const mark = await stack.mark();
    const res = await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['api.authn.failure']);
    expect(events[0]).toMatchObject({
      outcome: 'failure',
      reason: 'token_expired',
      error: { code: 'invalid_token' },
      client: { id: SHORT_CLIENT.id },
      oauth: { token: { verified: false, alg: 'RS256' } },
      http: { status: 401 },
    });
  });

  test('logs api.authn.failure with reason token_malformed for a token that is not a JWT', async () => {
    const mark = await stack.mark();
    const res = await fetch(`${stack.apiUrl}/api/items`, {
      headers: { authorization: 'Bearer eyJhbGciOi.broken!!.x' },
    });
    expect(res.status).toBe(401);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['api.authn.failure']);
    expect(events[0]).toMatchObject({
      reason: 'token_malformed',
      oauth: { token: { verified: false } },
    });
    expect(events[0]!.user).toBeUndefined();
  });

  test('logs api.authn.failure with reason token_missing when no token is sent', async () => {
    const mark = await stack.mark();
    const res = await fetch(`${stack.apiUrl}/api/items`);
    expect(res.status).toBe(401);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['api.authn.failure']);
    expect(events[0]).toMatchObject({ reason: 'token_missing', http: { status: 401 } });
    expect(events[0]!.oauth).toBeUndefined();
  });

  test('logs api.authz.failure with reason insufficient_scope when the token lacks the scope', async () => {
    const token = await clientCredentialsToken();
    const mark = await stack.mark();
    const res = await fetch(`${stack.apiUrl}/api/admin`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(403);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(types(events)).toEqual(['api.authz.failure']);
    expect(events[0]).toMatchObject({
      reason: 'insufficient_scope',
      error: { code: 'insufficient_scope' },
      oauth: { scope: ['read:items'], token: { verified: true } },
    });
  });
});

describe('secrets sent in URL paths', () => {
  /** A raw GET, so that the request line carries exactly `target` (fetch never sends a fragment). */
  const rawGet = (base: string, target: string, token: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(base);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: target,
          headers: { authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });

  test("the flow's own tokens in a path, a matrix parameter or a fragment are redacted from http.path on the RP and the API (the canary below checks every byte)", async () => {
    await login(browser(), stack.rpUrl, { user: 'alice' });
    const sessions = await stack.sessions();
    const { access_token, refresh_token, id_token } = sessions[sessions.length - 1]!;
    const mark = await stack.mark();
    const targets = [
      `/reset-password/${refresh_token}`,
      `/invite/${id_token}/accept`,
      `/api/items;jsessionid=${refresh_token}`,
      `/callback#access_token=${access_token}`,
    ];
    for (const base of [stack.rpUrl, stack.apiUrl])
      for (const target of targets) await rawGet(base, target, access_token);
    const events = await stack.eventsSince(mark, 'rp', 'rs');
    expect(events).toHaveLength(targets.length * 2);
    const paths = events.map((e) => e.http?.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/reset-password/[redacted]',
        '/invite/[redacted]/accept',
        '/api/items;[redacted]',
        '/callback',
      ]),
    );
    const text = JSON.stringify(events);
    for (const secret of [access_token, refresh_token, id_token]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret!.slice(0, 24));
    }
  });
});

describe('secret canary', () => {
  test('no secret seen in any flow appears in any byte the sink wrote', async () => {
    const text = await stack.text();
    const sessions = await stack.sessions();
    const secrets = new Set<string>([
      RP_CLIENT.secret,
      SHORT_CLIENT.secret,
      RP_COOKIE_SECRET,
      OP_COOKIE_KEY,
      AUDIT_FINGERPRINT_KEY,
      USERS.alice.password,
      USERS.bob.password,
      ...extraSecrets,
    ]);
    for (const s of sessions) {
      for (const t of [s.access_token, s.id_token, s.refresh_token]) if (t) secrets.add(t);
    }
    for (const b of browsers) for (const s of b.secrets) secrets.add(s);
    // Values under 8 characters (cookie flags such as "true") are not secrets and would match by chance.
    for (const s of secrets) if (s.length < 8) secrets.delete(s);
    // The flows above must have produced every kind of secret the canary stands for.
    expect(sessions.length).toBeGreaterThanOrEqual(4);
    expect(sessions.every((s) => s.refresh_token)).toBe(true);
    const seen = [...secrets];
    expect(seen.some((s) => /^[A-Za-z0-9_-]{43}$/.test(s))).toBe(true); // PKCE verifier / nonce shapes
    expect(text.length).toBeGreaterThan(1000);

    const leaked = seen.filter((s) => text.includes(s));
    expect(leaked).toEqual([]);
    // Also the signature-less part of every JWT (header.payload) and any 24+ char run of a token.
    for (const s of sessions) {
      for (const t of [s.access_token, s.id_token]) {
        expect(text).not.toContain(t.split('.').slice(0, 2).join('.'));
        expect(text).not.toContain(t.split('.')[2]!.slice(0, 24));
      }
    }
  });
});
