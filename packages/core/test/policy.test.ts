import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type AuthtrailError,
  type AuthtrailOptions,
  type RequestFacts,
} from '@authtrail/core';

const KEY = { fingerprint: 'fingerprint-key-for-policy-tests-0123' };

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An unsigned-looking JWT access token of `client` (decoded, not verified: enough for client.id). */
const token = (client: string) =>
  `${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64({
    iss: 'https://op.example',
    sub: 'user-1',
    client_id: client,
    exp: 9_999_999_999,
  })}.${'s'.repeat(86)}`;

/** A finished API request: a bearer token of `client` (or none) on `url`, answered `status`. */
const request = (url: string, status: number, client?: string): RequestFacts => ({
  startTime: Date.now(),
  durationMs: 1,
  method: 'GET',
  url,
  status,
  headers: client ? { authorization: `Bearer ${token(client)}` } : {},
});

function auditor(policy: unknown, more: Partial<AuthtrailOptions> = {}) {
  const sink = memorySink();
  const a = createAuditor({
    sinks: [sink],
    keys: KEY,
    delivery: { handleSignals: false },
    policy: policy as AuthtrailOptions['policy'],
    ...more,
  });
  return { auditor: a, sink, adapter: a.attach('test') };
}

function invalid(policy: unknown): AuthtrailError {
  try {
    createAuditor({ sinks: [memorySink()], keys: KEY, policy: policy as never });
  } catch (err) {
    return err as AuthtrailError;
  }
  throw new Error('expected ERR_AUTHTRAIL_INVALID_OPTIONS');
}

describe('policy option validation', () => {
  test('a policy that is not an array is ERR_AUTHTRAIL_INVALID_OPTIONS at path policy', () => {
    const err = invalid({ action: 'skip', route: '/healthz' });
    expect(err.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(err.issues).toEqual([
      expect.objectContaining({ path: 'createAuditor({ policy })', received: 'an object' }),
    ]);
  });

  test('every broken rule field is reported at once, naming the rule index and the field', () => {
    const err = invalid([
      { action: 'skip', route: '/healthz' },
      { action: 'drop', route: 'healthz' },
      { action: 'skip', type: ['api.access.success', 'api access'], outcome: 'sucess' },
      { action: 'record', client: [], verb: 'get' },
      'skip /metrics',
      { action: 'skip', type: 'audit.*' },
      { action: 'skip', route: '/a/*/b' },
    ]);
    expect(err.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(err.issues.map((i) => i.path)).toEqual([
      'createAuditor({ policy[1].action })',
      'createAuditor({ policy[1].route })',
      'createAuditor({ policy[2].type })',
      'createAuditor({ policy[2].outcome })',
      'createAuditor({ policy[3].verb })',
      'createAuditor({ policy[3].client })',
      'createAuditor({ policy[4] })',
      'createAuditor({ policy[5].type })',
      'createAuditor({ policy[6].route })',
    ]);
    // What was received is shown by its shape; a mistyped word of a fixed list is shown as is.
    expect(err.issues[0]).toMatchObject({ received: '"drop"', fix: "use 'skip' or 'record'" });
    expect(err.issues[3]).toMatchObject({ received: '"sucess"' });
    expect(err.issues[5]).toMatchObject({ received: 'an array of 0 items' });
    expect(err.issues[7]!.fix).toContain('audit.* events are always recorded');
    expect(err.message).toContain('createAuditor({ policy[2].outcome }): received "sucess"');
  });

  test('no value of a rule is echoed when it is not a word: a client id stays out of the message', () => {
    const secretish = 'Pq7dK2xW9mZr4TbN8vLc3HyJ6sGf1AeQ';
    const err = invalid([{ action: 'skip', client: secretish, route: `/x?key=${secretish}` }]);
    expect(err.issues.map((i) => i.path)).toEqual(['createAuditor({ policy[0].route })']);
    expect(err.message).not.toContain(secretish);
  });
});

describe('policy', () => {
  test('with no policy every event is recorded and nothing is counted as skipped', async () => {
    const { auditor: a, sink, adapter } = auditor(undefined);
    adapter.observe(request('/healthz', 200, 'probe'));
    await a.flush();
    expect(sink.events.map((e) => e.type)).toEqual(['api.access.success']);
    expect(a.stats()).toMatchObject({ skipped: 0, skippedByRule: [] });
    await a.close();
  });

  test('a skip rule on a route drops its events before the queue and counts them per rule', async () => {
    const {
      auditor: a,
      sink,
      adapter,
    } = auditor([{ action: 'skip', route: ['/healthz', '/metrics/'] }]);
    adapter.observe(request('/healthz', 200, 'probe'));
    adapter.observe(request('/healthz/', 200, 'probe'));
    adapter.observe(request('/metrics?x=1', 401));
    adapter.observe(request('/items', 200, 'web'));
    await a.flush();
    expect(sink.events.map((e) => e.http?.path)).toEqual(['/items']);
    expect(a.stats()).toMatchObject({ skipped: 3, skippedByRule: [3], enqueued: 1, delivered: 1 });
    await a.close();
  });

  test('the first matching rule wins: a record rule before a skip rule keeps what it matches', async () => {
    const {
      auditor: a,
      sink,
      adapter,
    } = auditor([
      { action: 'record', route: '/healthz', outcome: 'failure' },
      { action: 'skip', route: '/healthz' },
      { action: 'record', route: '/healthz' },
    ]);
    adapter.observe(request('/healthz', 200, 'probe'));
    adapter.observe(request('/healthz', 401));
    await a.flush();
    expect(sink.events.map((e) => e.type)).toEqual(['api.authn.failure']);
    expect(a.stats()).toMatchObject({ skipped: 1, skippedByRule: [0, 1, 0] });
    await a.close();
  });

  test('rules match on type patterns, outcome and client together; every field must match', async () => {
    const {
      auditor: a,
      sink,
      adapter,
    } = auditor([
      { action: 'skip', type: 'api.access.*', client: ['probe', 'uptime'], outcome: 'success' },
    ]);
    adapter.observe(request('/items', 200, 'probe')); // skipped
    adapter.observe(request('/items', 200, 'uptime')); // skipped
    adapter.observe(request('/items', 200, 'web')); // another client
    adapter.observe(request('/items', 403, 'probe')); // api.authz.failure: another type
    await a.flush();
    expect(sink.events.map((e) => [e.type, e.client?.id])).toEqual([
      ['api.access.success', 'web'],
      ['api.authz.failure', 'probe'],
    ]);
    expect(a.stats().skipped).toBe(2);
    await a.close();
  });

  test('a route prefix ending in /* matches the paths under it', async () => {
    const { auditor: a, sink, adapter } = auditor([{ action: 'skip', route: '/internal/*' }]);
    adapter.observe(request('/internal/ping', 200, 'probe'));
    adapter.observe(request('/internalish', 200, 'probe'));
    await a.flush();
    expect(sink.events.map((e) => e.http?.path)).toEqual(['/internalish']);
    await a.close();
  });

  test('manual events go through the policy too: record() returns the event, the sink never sees it', async () => {
    const {
      auditor: a,
      sink,
      adapter,
    } = auditor([{ action: 'skip', type: 'authn.mfa_verify.success', client: 'probe' }]);
    const skipped = a.record({ type: 'authn.mfa_verify.success', client: { id: 'probe' } });
    adapter.recorder.record({ type: 'authn.mfa_verify.success', client: { id: 'probe' } });
    a.record({ type: 'authn.mfa_verify.success', client: { id: 'web' } });
    await a.flush();
    expect(skipped.type).toBe('authn.mfa_verify.success');
    expect(sink.events.map((e) => e.client?.id)).toEqual(['web']);
    expect(a.stats()).toMatchObject({ skipped: 2, skippedByRule: [2] });
    await a.close();
  });

  test("a catch-all skip rule never skips authtrail's own audit.* events, and skipped events never enter the hash chain", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authtrail-policy-'));
    const file = join(dir, 'audit.jsonl');
    const a = createAuditor({
      sinks: [fileSink(file)],
      keys: { ...KEY, chain: 'chain-key-for-policy-tests-0123456789' },
      delivery: { handleSignals: false },
      policy: [{ action: 'skip', route: '/healthz' }, { action: 'skip' }],
    });
    const adapter = a.attach('test');
    adapter.observe(request('/healthz', 200, 'probe'));
    adapter.observe(request('/items', 401));
    a.record({ type: 'audit.delivery.failure', reason: 'events_dropped' });
    await a.close();
    const events = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent);
    // The chain numbers only what was written: no gap where the skipped events were.
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ['audit.delivery.failure', 1],
      ['audit.checkpoint.success', 2],
    ]);
    expect(a.stats()).toMatchObject({ skipped: 2, skippedByRule: [1, 1] });
  });
});
