// A relying party's own refresh-token grants, recorded by auditRefresh() around the app's promise
// (the generic path; express-openid-connect's accessToken.refresh() is hooked onto it, see
// test/express-oidc-refresh.e2e.test.ts for that against a real provider).
import { createHmac } from 'node:crypto';
import { auditRefresh, createAuditor, memorySink, type AuditEvent } from '@authtrail/core';

const FINGERPRINT = 'fingerprint-key-for-tests-0123456789';
const fp = (value: string) =>
  createHmac('sha256', FINGERPRINT).update(value).digest().subarray(0, 16).toString('base64url');

const REFRESH_TOKEN = 'rt-Zk3q9VxY2mN8pL4sT7wE1rU6iO0aSdFgHjKl';
const ACCESS_TOKEN = 'at-Qw5eR8tY1uI4oP7aS0dF3gH6jK9lZxCvBnM2';
const CLAIMS = {
  iss: 'https://op.example',
  sub: 'alice',
  aud: 'members-app',
  azp: 'members-app',
  sid: 'op-session-6f1d2c',
  nonce: 'n-0S6_WzA2Mj',
  roles: ['admin'],
};
const START = {
  refreshToken: REFRESH_TOKEN,
  idTokenClaims: CLAIMS,
  headers: {
    'user-agent': 'members/1.0',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    authorization: `Bearer ${ACCESS_TOKEN}`,
  },
  ip: '203.0.113.9',
};

/** An OAuth error as openid-client rejects with it (oauth4webapi's ResponseBodyError). */
class ResponseBodyError extends Error {
  readonly code = 'OAUTH_RESPONSE_BODY_ERROR';
  constructor(
    readonly error: string,
    readonly status: number,
  ) {
    super('server responded with an error in the response body');
  }
}

function adapter(options: Parameters<typeof createAuditor>[0] = {}) {
  const sink = memorySink();
  const auditor = createAuditor({
    service: 'members',
    sinks: [sink],
    keys: { fingerprint: FINGERPRINT },
    delivery: { handleSignals: false },
    ...options,
  });
  return { sink, auditor, recorder: auditor.attach('express').recorder, release: auditor.close };
}

describe('auditRefresh()', () => {
  test('logs oauth.token_refresh.success by the rp with the user, client, session, flow, the new access token and the refresh token spent, and resolves with the same value', async () => {
    const { sink, recorder, release } = adapter();
    const response = { access_token: ACCESS_TOKEN, expires_in: 300, token_type: 'bearer' };
    const before = Date.now();
    const value = await auditRefresh(recorder, Promise.resolve(response), START);
    await release();
    expect(value).toBe(response);
    expect(sink.events).toHaveLength(1);
    const e = sink.events[0]!;
    expect(e).toMatchObject({
      type: 'oauth.token_refresh.success',
      outcome: 'success',
      observer: { role: 'rp', service: 'members', adapter: 'express' },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: 'members-app' },
      session: { id: fp('op-session-6f1d2c') },
      flow: { id: fp('n-0S6_WzA2Mj') },
      oauth: {
        issuer: 'https://op.example',
        grant_type: 'refresh_token',
        token: { type: 'access_token', fingerprint: fp(ACCESS_TOKEN), verified: false },
        presented: { type: 'refresh_token', fingerprint: fp(REFRESH_TOKEN), verified: false },
      },
      source: { ip: '203.0.113.9', user_agent: 'members/1.0' },
      trace: { id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' },
    });
    expect(e.reason).toBeUndefined();
    expect(e.http).toBeUndefined();
    const expiresAt = Date.parse(e.oauth!.token!.expires_at!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
    const text = sink.text();
    for (const secret of [REFRESH_TOKEN, ACCESS_TOKEN, 'op-session-6f1d2c', 'n-0S6_WzA2Mj'])
      expect(text).not.toContain(secret);
  });

  test('logs oauth.token_refresh.failure with reason invalid_grant and the refresh token presented, and rejects with the same error object', async () => {
    const { sink, recorder, release } = adapter();
    const thrown = new ResponseBodyError('invalid_grant', 400);
    const settled = auditRefresh(recorder, Promise.reject(thrown), START);
    await expect(settled).rejects.toBe(thrown);
    await release();
    expect(sink.events.map((e) => [e.type, e.reason, e.error?.code])).toEqual([
      ['oauth.token_refresh.failure', 'invalid_grant', 'invalid_grant'],
    ]);
    expect(sink.events[0]).toMatchObject({
      user: { id: 'alice' },
      client: { id: 'members-app' },
      oauth: {
        grant_type: 'refresh_token',
        token: { type: 'refresh_token', fingerprint: fp(REFRESH_TOKEN), verified: false },
      },
    });
    expect(sink.events[0]!.oauth?.presented).toBeUndefined();
    expect(sink.text()).not.toContain(REFRESH_TOKEN);
  });

  test.each<{ what: string; thrown: unknown; reason: string; code?: string }>([
    {
      what: 'an OAuth error the provider answered with a 5xx',
      thrown: new ResponseBodyError('temporarily_unavailable', 503),
      reason: 'server_error',
      code: 'temporarily_unavailable',
    },
    {
      what: 'an OAuth error that is no token endpoint reason',
      thrown: new ResponseBodyError('access_denied', 400),
      reason: 'unknown',
      code: 'access_denied',
    },
    {
      what: "express-openid-connect's session ceiling (no OAuth code)",
      thrown: Object.assign(new Error('The upstream IdP session has expired.'), {
        code: 'ERR_SESSION_EXPIRED',
        status: 401,
      }),
      reason: 'unknown',
    },
    { what: 'a network failure', thrown: new TypeError('fetch failed'), reason: 'unknown' },
    { what: 'a rejection that is not an error', thrown: 'nope', reason: 'unknown' },
  ])('logs a failure for $what with reason $reason', async ({ thrown, reason, code }) => {
    const { sink, recorder, release } = adapter();
    await expect(auditRefresh(recorder, Promise.reject(thrown), START)).rejects.toBe(thrown);
    await release();
    expect(sink.events.map((e: AuditEvent) => [e.type, e.reason, e.error?.code])).toEqual([
      ['oauth.token_refresh.failure', reason, code],
    ]);
  });

  test('hands back the very promise and records nothing without an adapter recorder', async () => {
    const { sink, release } = adapter();
    const refresh = Promise.resolve({ access_token: ACCESS_TOKEN });
    expect(auditRefresh(undefined, refresh, START)).toBe(refresh);
    // An app's own object with a record() is not an adapter's recorder.
    expect(auditRefresh({ record: () => ({}) as AuditEvent }, refresh, START)).toBe(refresh);
    await refresh;
    await release();
    expect(sink.events).toEqual([]);
  });

  test('a policy that skips refreshes counts them and writes nothing', async () => {
    const { sink, auditor, recorder, release } = adapter({
      policy: [{ action: 'skip', type: 'oauth.token_refresh.*' }],
    });
    await auditRefresh(recorder, Promise.resolve({ access_token: ACCESS_TOKEN }), START);
    expect(auditor.stats()).toMatchObject({ skipped: 1, skippedByRule: [1] });
    await release();
    expect(sink.events).toEqual([]);
  });

  test('after the auditor closed, the refresh still settles as it would and nothing is written', async () => {
    const { sink, auditor, recorder, release } = adapter();
    await release();
    const thrown = new ResponseBodyError('invalid_grant', 400);
    await expect(auditRefresh(recorder, Promise.reject(thrown), START)).rejects.toBe(thrown);
    await expect(
      auditRefresh(recorder, Promise.resolve({ access_token: ACCESS_TOKEN }), START),
    ).resolves.toEqual({ access_token: ACCESS_TOKEN });
    expect(sink.events).toEqual([]);
    expect(auditor.stats().dropped).toBe(2); // refused after close, counted as every late event is
  });
});
