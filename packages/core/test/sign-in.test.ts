import { createHmac } from 'node:crypto';
import { createAuditor, memorySink, type AuditEvent } from '@authtrail/core';
import type { RequestFacts } from '@authtrail/core';
// resolveOptions is internal: tested from source, with the error class of the same source.
import { AuthtrailError } from '@authtrail/schema';
import { resolveOptions } from '../src/options.js';

const KEY = 'sign-in-unit-test-fingerprint-key-8c2d';
const PSEUDONYM_KEY = 'sign-in-unit-test-pseudonym-key-41ab7e';
const hash = (key: string, value: string) =>
  createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');

function issuesOf(fn: () => unknown): AuthtrailError {
  try {
    fn();
  } catch (err) {
    return err as AuthtrailError;
  }
  throw new Error('expected a throw');
}

describe('the signIn option', () => {
  test('reports every problem at once, each with its path and a fix', () => {
    const err = issuesOf(() =>
      resolveOptions({
        signIn: {
          routes: ['POST /interaction/:uid/login', 'FETCH /x', 'no-slash', 42],
          accountField: ['login', 'has space'],
          password: 'password',
        },
      }),
    );
    expect(err.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(err.issues.map((i) => i.path)).toEqual([
      'createAuditor({ signIn.password })',
      'createAuditor({ signIn.routes[1] })',
      'createAuditor({ signIn.routes[2] })',
      'createAuditor({ signIn.routes[3] })',
      'createAuditor({ signIn.accountField })',
    ]);
    expect(err.message).toContain("'POST /interaction/:uid/login'");
  });

  test('must be an object with at least one route', () => {
    expect(issuesOf(() => resolveOptions({ signIn: '/login' })).issues[0]).toMatchObject({
      path: 'createAuditor({ signIn })',
      received: 'a string of 6 characters',
    });
    expect(issuesOf(() => resolveOptions({ signIn: { routes: [] } })).issues[0]).toMatchObject({
      path: 'createAuditor({ signIn.routes })',
    });
  });

  test('defaults to POST and the fields login, username, email', () => {
    const o = resolveOptions({ signIn: { routes: '/interaction/:uid/login' } });
    expect(o.signIn?.routes.map((r) => r.method)).toEqual(['POST']);
    expect(o.signIn?.fields).toEqual(['login', 'username', 'email']);
    expect(resolveOptions({}).signIn).toBeUndefined();
  });
});

describe('sign-in form requests', () => {
  function setup(extra: Record<string, unknown> = {}) {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: KEY },
      delivery: { handleSignals: false },
      signIn: { routes: 'POST /op/interaction/:uid/login' },
      ...extra,
    });
    const handle = auditor.attach('test');
    const facts = (over: Partial<RequestFacts>): RequestFacts => ({
      startTime: Date.UTC(2026, 0, 1),
      durationMs: 3,
      method: 'POST',
      url: '/op/interaction/uid-1/login',
      route: '/op/interaction/:uid/login',
      status: 200,
      headers: { 'user-agent': 'ua/1' },
      ip: '192.0.2.7',
      body: { username: 'carol', password: 'never-logged-canary' },
      ...over,
    });
    const events = async (): Promise<AuditEvent[]> => {
      await auditor.flush();
      return sink.events;
    };
    return { auditor, handle, facts, events, sink };
  }

  test('a form shown again is authn.login.failure invalid_credentials, the typed account as a keyed hash only', async () => {
    const { handle, facts, events, sink, auditor } = setup();
    expect(handle.routeKind('/op/interaction/uid-1/login?x=1')).toBe('sign_in');
    expect(handle.routeKind('/op/interaction/uid-1')).toBeUndefined();
    handle.observe(facts({}));
    const [e] = await events();
    expect(e).toMatchObject({
      type: 'authn.login.failure',
      outcome: 'failure',
      reason: 'invalid_credentials',
      user: { hash: hash(KEY, 'carol') },
      http: { method: 'POST', route: '/op/interaction/:uid/login', status: 200 },
      source: { ip: '192.0.2.7', user_agent: 'ua/1' },
    });
    expect(e!.observer.role).toBe('rp');
    expect(sink.text()).not.toContain('carol');
    expect(sink.text()).not.toContain('never-logged-canary');
    await auditor.close();
  });

  test('a redirect (the interaction finished), an aborted request, another method or another path gives nothing; a 5xx is server_error', async () => {
    const { handle, facts, events, auditor } = setup();
    handle.observe(facts({ status: 303 }));
    handle.observe(facts({ aborted: true }));
    handle.observe(facts({ method: 'GET', body: undefined }));
    handle.observe(facts({ url: '/op/interaction/uid-1/confirm', route: undefined }));
    handle.observe(facts({ status: 500, body: { email: ' dave@example.com ' } }));
    const got = await events();
    expect(got.map((e) => [e.type, e.reason, e.user])).toEqual([
      ['authn.login.failure', 'server_error', { hash: hash(KEY, 'dave@example.com') }],
    ]);
    await auditor.close();
  });

  test('with pseudonymize, an attempted name is hashed with the pseudonym key, like user.hash elsewhere', async () => {
    const { handle, facts, events, auditor } = setup({
      pseudonymize: true,
      keys: { fingerprint: KEY, pseudonym: PSEUDONYM_KEY },
    });
    handle.observe(facts({}));
    expect((await events())[0]!.user).toEqual({ hash: hash(PSEUDONYM_KEY, 'carol') });
    await auditor.close();
  });

  test('a provider that resumed an interaction with the account makes that account known', async () => {
    const { handle, facts, events, auditor } = setup({ routes: 'oidc-provider' });
    handle.observe(facts({ status: 303 }));
    // oidc-provider's resume of that interaction, with the login result (ctx.oidc as it leaves it).
    handle.observe(
      facts({
        method: 'GET',
        url: '/op/auth/uid-1',
        route: undefined,
        status: 303,
        body: undefined,
        oidc: {
          route: 'resume',
          params: { client_id: 'c1', nonce: 'n-1', scope: 'openid' },
          result: { login: { accountId: 'acct-carol' } },
        },
        response: { getHeader: () => '/op/interaction/uid-2' },
      }),
    );
    handle.observe(facts({ url: '/OP/interaction/uid-3/login/?lang=en' }));
    handle.observe(facts({ url: '/op/interaction/uid-3/login', body: { username: 'Carol' } }));
    const got = await events();
    expect(got.map((e) => [e.type, e.observer.role, e.user])).toEqual([
      ['authn.login.success', 'op', { id: 'acct-carol' }],
      ['authn.login.failure', 'op', { id: 'acct-carol' }],
      // Another spelling is another name: pseudonymised.
      ['authn.login.failure', 'op', { hash: hash(KEY, 'Carol') }],
    ]);
    await auditor.close();
  });
});

describe('the per-request recorder', () => {
  test('in a provider request, the flow is the keyed hash of the authorization request nonce', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: KEY },
      routes: 'oidc-provider',
      delivery: { handleSignals: false },
    });
    const { Recorder } = auditor.attach('koa');
    // What oidc-provider's Koa context looks like to the recorder: read by name, as in findAccount(ctx).
    const ctx = {
      method: 'GET',
      originalUrl: '/auth?client_id=c1&nonce=n-secret-canary',
      headers: { 'user-agent': 'ua/2' },
      ip: '198.51.100.4',
      res: { headersSent: false, statusCode: 200 },
      oidc: { route: 'authorization', params: { nonce: 'n-secret-canary' } },
    };
    const e = new Recorder(ctx).record({
      type: 'authn.risk_check.success',
      observer: { role: 'op' },
    });
    expect(e.flow).toEqual({ id: hash(KEY, 'n-secret-canary') });
    expect(e.http).toEqual({
      method: 'GET',
      path: '/auth',
      query: 'client_id=[redacted]&nonce=[redacted]',
    });
    expect(e.source).toEqual({ ip: '198.51.100.4', user_agent: 'ua/2' });
    await auditor.flush();
    expect(sink.text()).not.toContain('n-secret-canary');
    await auditor.close();
  });

  test('the recorder without a request records as before, with no request context', async () => {
    const auditor = createAuditor({
      sinks: [memorySink()],
      keys: { fingerprint: KEY },
      delivery: { handleSignals: false },
    });
    const e = auditor.attach('express').recorder.record({ type: 'authn.mfa_enroll.success' });
    expect([e.http, e.source, e.flow, e.trace]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    await auditor.close();
  });
});
