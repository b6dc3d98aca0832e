import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type AuthtrailOptions,
  type RequestFacts,
} from '@authtrail/core';

const KEY = 'fingerprint-key-for-tests-0123456789';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256' }) =>
  `${b64(header)}.${b64(claims)}.c2lnbmF0dXJl`;
const now = () => Math.floor(Date.now() / 1000);

function facts(
  over: Partial<RequestFacts> & { responseHeaders?: Record<string, string> } = {},
): RequestFacts {
  const { responseHeaders = {}, ...rest } = over;
  return {
    startTime: Date.now(),
    durationMs: 1.23456,
    method: 'GET',
    url: '/api/items',
    status: 200,
    headers: {},
    response: { getHeader: (name: string) => responseHeaders[name] },
    ip: '127.0.0.1',
    ...rest,
  };
}

async function observe(f: RequestFacts, options: AuthtrailOptions = {}): Promise<AuditEvent[]> {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys: { fingerprint: KEY }, ...options });
  auditor.attach('core').observe(f);
  await auditor.flush();
  return sink.events;
}

describe('bearer-token requests', () => {
  test('logs an unverified JWT as api.access.success with verified: false and its claims', async () => {
    const token = jwt({
      sub: 'u1',
      client_id: 'c1',
      scope: 'read write',
      aud: 'https://api',
      iss: 'https://op',
      exp: now() + 60,
    });
    const [e] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }));
    expect(e).toMatchObject({
      type: 'api.access.success',
      outcome: 'success',
      observer: { role: 'rs', adapter: 'core' },
      user: { id: 'u1' },
      client: { id: 'c1' },
      oauth: {
        issuer: 'https://op',
        scope: ['read', 'write'],
        audience: ['https://api'],
        token: { type: 'access_token', verified: false, alg: 'RS256' },
      },
      http: { method: 'GET', path: '/api/items', status: 200, duration_ms: 1.235 },
    });
    expect(JSON.stringify(e)).not.toContain(token);
  });

  test('marks claims the app verified (req.auth) as verified: true and prefers them over the decoded token', async () => {
    const token = jwt({ sub: 'forged' });
    const [e] = await observe(
      facts({
        headers: { authorization: `Bearer ${token}` },
        tokenClaims: { sub: 'real', azp: 'web' },
        tokenHeader: { alg: 'ES256' },
      }),
    );
    expect(e).toMatchObject({
      user: { id: 'real' },
      client: { id: 'web' },
      oauth: { token: { verified: true, alg: 'ES256' } },
    });
  });

  test('keeps decoded and app-verified views of one token apart when it is seen both ways', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: { fingerprint: KEY } });
    const headers = { authorization: `Bearer ${jwt({ sub: 'claimed', client_id: 'c' })}` };
    auditor.attach('core').observe(facts({ headers }));
    auditor
      .attach('core')
      .observe(facts({ headers, tokenClaims: { sub: 'verified-sub', client_id: 'c' } }));
    auditor.attach('core').observe(facts({ headers, status: 401 }));
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.user?.id, e.oauth?.token?.verified])).toEqual([
      ['api.access.success', 'claimed', false],
      ['api.access.success', 'verified-sub', true],
      ['api.authn.failure', 'claimed', false],
    ]);
    expect(new Set(sink.events.map((e) => e.oauth?.token?.fingerprint)).size).toBe(1);
    expect(Object.isFrozen(sink.events[0]!.user)).toBe(true); // shared by every event of the token
  });

  test('gives the same fingerprint for the same token and key, and a different one under another key', async () => {
    const token = 'opaque-token-value-1234567890';
    const [a] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }));
    const [b] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }));
    const [c] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }), {
      keys: { fingerprint: 'x'.repeat(32) },
    });
    expect(a!.oauth!.token!.fingerprint).toBe(b!.oauth!.token!.fingerprint);
    expect(c!.oauth!.token!.fingerprint).not.toBe(a!.oauth!.token!.fingerprint);
    expect(a!.user).toBeUndefined();
  });

  test.each([
    ['signature verification failed', 'signature_invalid'],
    ['unexpected "iss" claim value', 'issuer_mismatch'],
    ['unexpected "aud" claim value', 'audience_mismatch'],
    ['"alg" (Algorithm) Header Parameter value not allowed', 'alg_not_allowed'],
    ['"exp" claim timestamp check failed', 'token_expired'],
    ['"nbf" claim timestamp check failed', 'token_not_yet_valid'],
    ['token has been revoked', 'token_revoked'],
    ['something else', 'token_invalid'],
  ])('names the 401 reason from the verifier challenge "%s" as %s', async (description, reason) => {
    const [e] = await observe(
      facts({
        status: 401,
        headers: { authorization: `Bearer ${jwt({ sub: 'u', exp: now() + 60 })}` },
        responseHeaders: {
          'www-authenticate': `Bearer realm="api", error="invalid_token", error_description="${description.replace(/"/g, '\\"')}"`,
        },
      }),
    );
    expect(e).toMatchObject({
      type: 'api.authn.failure',
      outcome: 'failure',
      reason,
      error: { code: 'invalid_token' },
    });
  });

  test('names 401 reasons from the claims when the app gave no challenge', async () => {
    const cases: Array<[string, string]> = [
      [jwt({ sub: 'u', exp: now() - 10 }), 'token_expired'],
      [jwt({ sub: 'u', nbf: now() + 600 }), 'token_not_yet_valid'],
      [jwt({ sub: 'u' }, { alg: 'none' }), 'alg_not_allowed'],
      ['not-a-jwt', 'token_invalid'],
      ['a.b', 'token_malformed'],
    ];
    for (const [token, reason] of cases) {
      const [e] = await observe(
        facts({ status: 401, headers: { authorization: `Bearer ${token}` } }),
      );
      expect([token, e!.reason]).toEqual([token, reason]);
      expect(e!.error).toBeUndefined();
    }
    const [missing] = await observe(facts({ status: 401 }));
    expect(missing).toMatchObject({ type: 'api.authn.failure', reason: 'token_missing' });
    expect(missing!.oauth).toBeUndefined();
  });

  test('logs 403 as api.authz.failure: insufficient_scope from the challenge, forbidden otherwise', async () => {
    const headers = { authorization: `Bearer ${jwt({ sub: 'u' })}` };
    const [scope] = await observe(
      facts({
        status: 403,
        headers,
        responseHeaders: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' },
      }),
    );
    expect(scope).toMatchObject({
      type: 'api.authz.failure',
      reason: 'insufficient_scope',
      error: { code: 'insufficient_scope' },
    });
    const [plain] = await observe(facts({ status: 403, headers }));
    expect(plain).toMatchObject({ type: 'api.authz.failure', reason: 'forbidden' });
  });

  test('logs nothing for a request without a bearer token that the app did not refuse', async () => {
    expect(await observe(facts({ status: 200 }))).toEqual([]);
    expect(await observe(facts({ status: 404, headers: { authorization: 'Basic dTpw' } }))).toEqual(
      [],
    );
  });

  test('keeps an accepted token a success when the route itself failed', async () => {
    const [e] = await observe(
      facts({ status: 500, headers: { authorization: `Bearer ${jwt({ sub: 'u' })}` } }),
    );
    expect(e).toMatchObject({ type: 'api.access.success', http: { status: 500 } });
  });
});

describe('request context and hostile input', () => {
  test('bounds and strips control characters from every untrusted string', async () => {
    const [e] = await observe(
      facts({
        status: 401,
        url: '/api/items?token=abc&page=2&x=%0d%0a',
        headers: {
          'user-agent': 'evil\r\nInjected: yes\u0000' + 'A'.repeat(70_000),
          'x-request-id': 'id\u001b[31m',
          'x-forwarded-for': '10.0.0.1, 10.0.0.2,' + ' 1.1.1.1,'.repeat(50),
          authorization: `Bearer ${jwt({ sub: 'u\u2028\u0007ser', roles: ['a', { nested: true }, 'b\u0000'], scope: 42 })}`,
        },
      }),
    );
    // Bounded first (512), then the three control characters are stripped.
    expect(e!.source!.user_agent).toHaveLength(509);
    expect(e!.source!.user_agent!.startsWith('evilInjected: yes')).toBe(true);
    expect(e!.http!.request_id).toBe('id[31m');
    expect(e!.source!.forwarded).toHaveLength(8);
    expect(e!.user).toEqual({ id: 'user', roles: ['a', 'b'] });
    expect(e!.oauth!.scope).toBeUndefined();
    expect(e!.http!.query).toBe('token=[redacted]&page=[redacted]&x=[redacted]');
    expect(JSON.stringify(e)).not.toMatch(/[\u0000-\u001f]/);
  });

  test('keeps allow-listed query values and reads W3C trace context', async () => {
    const [e] = await observe(
      facts({
        status: 401,
        url: '/api/items?page=2&sort=name&secret=s3',
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      }),
      { queryAllowList: ['page', 'sort'] },
    );
    expect(e!.http!.query).toBe('page=2&sort=name&secret=[redacted]');
    expect(e!.trace).toEqual({
      id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
  });

  test('pseudonymises users with a keyed hash that is stable across auditors sharing the key', async () => {
    const options = {
      pseudonymize: true,
      keys: { fingerprint: KEY, pseudonym: 'pseudonym-key-0123456789abcdefghij' },
    };
    const f = () =>
      facts({
        headers: { authorization: `Bearer ${jwt({ sub: 'alice@example.com', name: 'Alice' })}` },
      });
    const [a] = await observe(f(), options);
    const [b] = await observe(f(), options);
    expect(a!.user!.hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a!.user!.hash).toBe(b!.user!.hash);
    expect(JSON.stringify(a)).not.toContain('alice');
  });

  test('logs profile fields and a custom roles claim only when asked', async () => {
    const token = jwt({ sub: 'u', name: 'Ann', email: 'ann@example.com', groups: ['ops'] });
    const [plain] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }));
    expect(plain!.user).toEqual({ id: 'u' });
    const [full] = await observe(facts({ headers: { authorization: `Bearer ${token}` } }), {
      profile: true,
      rolesClaim: 'groups',
    });
    expect(full!.user).toEqual({ id: 'u', name: 'Ann', email: 'ann@example.com', roles: ['ops'] });
  });
});

describe('relying-party routes', () => {
  test('reads client, scopes and a nonce-based flow id from the login redirect, never the URL itself', async () => {
    const location =
      'https://op.example/authorize?client_id=web&scope=openid%20email&state=abc&nonce=n-123&code_challenge=secretish';
    const [e] = await observe(facts({ url: '/login', status: 302, responseHeaders: { location } }));
    expect(e).toMatchObject({
      type: 'authn.login_start.success',
      observer: { role: 'rp' },
      client: { id: 'web' },
      oauth: { scope: ['openid', 'email'] },
    });
    expect(e!.flow!.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(e)).not.toMatch(/secretish|n-123|op\.example/);
  });

  test('logs authn.login_start.success for a redirect to an authorization request from any route, with the flow id the login route would give', async () => {
    const location =
      'https://op.example/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp%2Fcallback&scope=openid%20email&state=st-secretish&nonce=n-secretish&code_challenge=cc-secretish';
    const [fromPage] = await observe(
      facts({ url: '/account/orders?tab=2', status: 302, responseHeaders: { location } }),
    );
    const [fromLogin] = await observe(
      facts({ url: '/login', status: 302, responseHeaders: { location } }),
    );
    expect(fromPage).toMatchObject({
      type: 'authn.login_start.success',
      outcome: 'success',
      observer: { role: 'rp' },
      client: { id: 'web' },
      oauth: { scope: ['openid', 'email'] },
      http: { method: 'GET', path: '/account/orders', status: 302 },
    });
    expect(fromPage!.flow!.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fromPage!.flow).toEqual(fromLogin!.flow);
    expect(JSON.stringify(fromPage)).not.toMatch(/secretish|op\.example|redirect_uri/);
  });

  test('reads a relative Location (a provider in the same app) as an authorization request too', async () => {
    const location = '/oidc/auth?client_id=web&response_type=code&scope=openid&nonce=n1';
    const [e] = await observe(
      facts({ url: '/private', status: 303, responseHeaders: { location } }),
    );
    expect(e).toMatchObject({ type: 'authn.login_start.success', client: { id: 'web' } });
  });

  test.each([
    ['a plain redirect', '/home'],
    ['a redirect back to the app with a client_id only', '/done?client_id=web'],
    [
      'response_type and client_id only as values',
      '/x?next=response_type%3Dcode%26client_id%3Dweb',
    ],
    ['no Location', undefined],
  ])('logs no login start for %s', async (_name, location) => {
    const events = await observe(
      facts({
        url: '/somewhere',
        status: 302,
        responseHeaders: location === undefined ? {} : { location },
      }),
    );
    expect(events).toEqual([]);
  });

  test('logs no login start for a page that answers 200 with an authorization URL in Location', async () => {
    const location = 'https://op.example/authorize?response_type=code&client_id=web';
    const events = await observe(
      facts({ url: '/page', status: 200, responseHeaders: { location } }),
    );
    expect(events).toEqual([]);
  });

  test('logs a failed login start with server_error', async () => {
    const [e] = await observe(facts({ url: '/login', status: 500 }));
    expect(e).toMatchObject({ type: 'authn.login_start.failure', reason: 'server_error' });
  });

  test.each([
    [
      { message: 'invalid response encountered', error: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' },
      'id_token_invalid',
      undefined,
    ],
    [
      { message: 'unexpected ID Token "nonce" claim value', error: 'OAUTH_INVALID_RESPONSE' },
      'nonce_mismatch',
      undefined,
    ],
    [
      { message: 'server responded with an error', error: 'invalid_grant' },
      'code_exchange_failed',
      'invalid_grant',
    ],
    [
      { message: 'invalid response encountered', error: 'OAUTH_RESPONSE_IS_NOT_CONFORM' },
      'code_exchange_failed',
      undefined,
    ],
    [
      { message: '"auth_verification" cookie not found.', error: 'unknown_error' },
      'missing_transaction',
      undefined,
    ],
  ])('names a callback error %p as %s', async (error, reason, code) => {
    const cookie =
      'auth_verification=' +
      encodeURIComponent(JSON.stringify({ state: 's1', nonce: 'n1', code_verifier: 'v' })) +
      '.sig';
    const [e] = await observe(
      facts({ url: '/callback?code=c&state=s1', status: 400, error, headers: { cookie } }),
    );
    expect(e).toMatchObject({ type: 'authn.login.failure', reason });
    expect(e!.error?.code).toBe(code);
  });

  test('names a state that differs from the transaction state_mismatch, with or without the error', async () => {
    const cookie =
      '_auth_verification=' +
      encodeURIComponent(JSON.stringify({ state: 'expected', nonce: 'n1' })) +
      '.sig';
    const [e] = await observe(
      facts({ url: '/callback?code=c&state=forged', status: 400, headers: { cookie } }),
    );
    expect(e).toMatchObject({ reason: 'state_mismatch' });
    expect(e!.flow!.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('reads a form_post callback from the parsed body', async () => {
    const [e] = await observe(
      facts({
        method: 'POST',
        url: '/callback',
        status: 400,
        body: { error: 'login_required', state: 's' },
      }),
    );
    expect(e).toMatchObject({
      type: 'authn.login.failure',
      reason: 'idp_error',
      error: { code: 'login_required' },
    });
  });

  test('logs login success with the session identity, and a stale callback as missing_transaction', async () => {
    const claims = {
      sub: 'alice',
      aud: ['web', 'other'],
      iss: 'https://op',
      sid: 'op-session-1',
      nonce: 'n1',
    };
    const [ok] = await observe(
      facts({
        url: '/callback?code=c&state=s',
        status: 302,
        user: { sub: 'alice', roles: ['admin'] },
        idTokenClaims: claims,
        transactionFound: true,
      }),
    );
    expect(ok).toMatchObject({
      type: 'authn.login.success',
      user: { id: 'alice', roles: ['admin'] },
      client: { id: 'web' },
      oauth: { issuer: 'https://op' },
    });
    expect(ok!.session!.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(ok)).not.toContain('op-session-1');
    const [stale] = await observe(
      facts({ url: '/callback?code=c&state=s', status: 302, transactionFound: false }),
    );
    expect(stale).toMatchObject({ type: 'authn.login.failure', reason: 'missing_transaction' });
  });

  test('matches routes case-insensitively and with a trailing slash, like Express', async () => {
    const [e] = await observe(facts({ url: '/LOGOUT/?x=1', status: 302, user: { sub: 'bob' } }));
    expect(e).toMatchObject({ type: 'authn.logout.success', user: { id: 'bob' } });
  });
});

describe('X-Forwarded-For and the service name', () => {
  test('reads X-Forwarded-For no further than 8 entries of 64 characters need, however long it is', async () => {
    const eight = Array.from({ length: 8 }, (_, i) => `203.0.113.${i}`);
    const [e] = await observe(
      facts({
        status: 401,
        headers: { 'x-forwarded-for': `${eight.join(', ')}, ${'198.51.100.9, '.repeat(150_000)}` },
      }),
    );
    expect(e!.source!.forwarded).toEqual(eight);
    // 2 MiB of spaces, then an address: the header is cut before its spaces are removed.
    const [late] = await observe(
      facts({ status: 401, headers: { 'x-forwarded-for': `${' '.repeat(2 << 20)}198.51.100.1` } }),
    );
    expect(late!.source!.forwarded).toBeUndefined();
  });

  test('cleans the service name of control characters and U+2028 in every line written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authtrail-service-'));
    const file = join(dir, 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(file)],
      keys: { fingerprint: KEY },
      service: 'billing\u2028api\u001b[2J\u0085\u202e',
      delivery: { handleSignals: false },
    });
    auditor.attach('core').observe(facts({ status: 401 }));
    auditor.record({ type: 'authn.mfa.success' });
    await auditor.close();
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(JSON.parse(line).observer.service).toBe('billingapi[2J');
    }
    expect(text).not.toMatch(/[\u2028\u2029\u0085\u202e]|\\u001b/);
  });

  test('refuses a service name that is empty once cleaned', () => {
    expect(() => createAuditor({ service: '\u2028\u0007', keys: { fingerprint: KEY } })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringContaining('service'),
      }),
    );
  });
});
