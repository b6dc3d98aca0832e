// The detector engine in a real auditor: events recorded through it (at times set by the auditor's
// test clock) reach a detectors() sink and a memory sink; decisions are read back from the memory
// sink, as every sink receives them.
import { createAuditor, memorySink, type ManualEvent } from '@authtrail/core';
import { detectors, memoryState, type Detector, type DetectorsOptions } from '../src/index.js';
import { KEY, T0, harness, only, signIns } from './support.js';

const { hash, failure, success } = signIns();
const MIN = 60_000;

/** An auditor with a detectors() sink and a memory sink; `at(ms)` sets the time of what follows. */
const setup = (options?: DetectorsOptions) => harness({ detect: options });

describe('options', () => {
  test('reports every problem at once, each with its place and a fix', () => {
    let error: unknown;
    try {
      detectors({
        builtIns: {
          brute_force: { threshold: 0, severity: 'urgent' as never },
          password_spraying: { failures: { window_s: -1 } },
          nope: {},
        } as never,
        custom: [
          {
            name: 'Bad Name',
            type: 'x.y.success',
            severity: 'low',
            rule: { kind: 'count' },
            read: () => undefined,
          } as never,
          {
            name: 'follows',
            type: 'x.follows.detected',
            severity: 'low',
            rule: { kind: 'sequence', within_s: 60, after: ['brute_forse'] },
            read: () => undefined,
          },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const paths = (error as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'detectors({ builtIns.nope })',
        'detectors({ builtIns.brute_force.threshold })',
        'detectors({ builtIns.brute_force.severity })',
        'detectors({ builtIns.password_spraying.failures.window_s })',
        'detectors({ custom[0].name })',
        'detectors({ custom[0].type })',
        'detectors({ custom[0].rule.threshold })',
        'detectors({ custom[0].rule.window_s })',
        'detectors({ custom[1].rule.after })',
      ]),
    );
    expect(() => memoryState({ maxKeys: 0 })).toThrow(/memoryState\(\{ maxKeys \}\)/);
  });

  test('a detectors() sink refuses a second auditor', () => {
    const sink = detectors();
    createAuditor({
      sinks: [sink],
      keys: { fingerprint: KEY },
      delivery: { handleSignals: false },
    });
    expect(() =>
      createAuditor({
        sinks: [sink],
        keys: { fingerprint: KEY },
        delivery: { handleSignals: false },
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }));
  });
});

describe('brute_force', () => {
  test('fires at the 10th failure in a row for one account and IP, not the 9th; the evidence runs from the first to the 10th', async () => {
    const t = setup(only('brute_force'));
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      t.at(T0 + i * MIN);
      ids.push(t.record(failure('alice', '203.0.113.7')).id);
    }
    expect(await t.detected()).toEqual([]);
    t.at(T0 + 9 * MIN);
    ids.push(t.record(failure('alice', '203.0.113.7')).id);
    const [d, ...more] = await t.detected();
    expect(more).toEqual([]);
    expect(d).toMatchObject({
      type: 'authn.bruteforce.detected',
      outcome: 'detected',
      observer: { role: 'op', service: 'detect-test' },
      user: { hash: hash('alice') },
      source: { ip: '203.0.113.7' },
      detection: {
        detector: 'brute_force',
        severity: 'medium',
        count: 10,
        threshold: 10,
        window_s: 900,
        first: ids[0],
        last: ids[9],
        first_time: new Date(T0).toISOString(),
      },
    });
    // The key is the keyed hash of the account and IP: neither appears in it.
    expect(d!.detection!.key).toBe(hash(`${hash('alice')}\u0000203.0.113.7`));
    expect(JSON.stringify(d!.detection)).not.toContain('203.0.113.7');
  });

  test('fires once per episode; a success resets it and a new run of 10 fires again', async () => {
    const t = setup(only('brute_force'));
    for (let i = 0; i < 25; i++) {
      t.at(T0 + i * 1000);
      t.record(failure('alice', '203.0.113.7'));
    }
    expect(await t.detected()).toHaveLength(1);
    t.at(T0 + 30_000);
    t.record(success('alice', '203.0.113.7'));
    for (let i = 0; i < 9; i++) {
      t.at(T0 + 40_000 + i * 1000);
      t.record(failure('alice', '203.0.113.7'));
    }
    expect(await t.detected()).toHaveLength(1);
    t.record(failure('alice', '203.0.113.7'));
    expect(await t.detected()).toHaveLength(2);
  });

  test('failures older than 15 minutes drop out: 10 spread over more than 15 minutes do not fire', async () => {
    const t = setup(only('brute_force'));
    for (let i = 0; i < 10; i++) {
      t.at(T0 + i * 2 * MIN);
      t.record(failure('alice', '203.0.113.7'));
    }
    expect(await t.detected()).toEqual([]);
    // Another IP, another account: other keys.
    for (let i = 0; i < 9; i++) t.record(failure('alice', '198.51.100.1'));
    for (let i = 0; i < 9; i++) t.record(failure('bob', '203.0.113.7'));
    expect(await t.detected()).toEqual([]);
  });

  test('a success naming the account by id resets failures that carry its hash (one account, either form)', async () => {
    const t = setup(only('brute_force'));
    for (let i = 0; i < 9; i++) t.record(failure('alice', '203.0.113.7'));
    t.record(success('alice', '203.0.113.7'));
    t.record(failure('alice', '203.0.113.7'));
    expect(await t.detected()).toEqual([]);
  });
});

test('distributed_brute_force: 30 failures for one account from any IPs within 12 h fire once, 29 do not', async () => {
  const t = setup(only('distributed_brute_force'));
  for (let i = 0; i < 29; i++) {
    t.at(T0 + i * 20 * MIN);
    t.record(failure('alice', `198.51.100.${i}`));
  }
  expect(await t.detected()).toEqual([]);
  t.record(failure('alice', '198.51.100.200'));
  t.record(failure('alice', '198.51.100.201'));
  const found = await t.detected();
  expect(found).toHaveLength(1);
  expect(found[0]).toMatchObject({
    type: 'authn.bruteforce.detected',
    user: { hash: hash('alice') },
    detection: { detector: 'distributed_brute_force', count: 30, threshold: 30, window_s: 43_200 },
  });
  // Its key is the account alone; no IP is named (the attack came from many).
  expect(found[0]!.detection!.key).toBe(hash(hash('alice')));
  expect(found[0]!.source).toBeUndefined();
});

describe('password_spraying', () => {
  test('15 distinct accounts failing from one IP within 5 minutes fire; 14 do not, nor one account 14 times', async () => {
    const t = setup(only('password_spraying'));
    for (let i = 0; i < 14; i++) t.record(failure(`user${i}`, '192.0.2.9'));
    for (let i = 0; i < 14; i++) t.record(failure('user0', '192.0.2.9'));
    expect(await t.detected()).toEqual([]);
    t.record(failure('user14', '192.0.2.9'));
    const found = await t.detected();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      type: 'authn.spray.detected',
      source: { ip: '192.0.2.9' },
      detection: { detector: 'password_spraying', count: 15, threshold: 15, window_s: 300 },
    });
    expect(found[0]!.user).toBeUndefined();
    expect(found[0]!.detection!.key).toBe(hash('192.0.2.9'));
  });

  test('or 100 failures from one IP within 24 hours, whatever the accounts', async () => {
    const t = setup(only('password_spraying'));
    for (let i = 0; i < 99; i++) {
      t.at(T0 + i * 10 * MIN);
      t.record(failure(`user${i % 3}`, '192.0.2.9'));
    }
    expect(await t.detected()).toEqual([]);
    t.record(failure('user0', '192.0.2.9'));
    const found = await t.detected();
    expect(found.map((e) => e.detection)).toEqual([
      expect.objectContaining({ count: 100, threshold: 100, window_s: 86_400 }),
    ]);
  });
});

test('success_after_brute_force: a success within 10 minutes after a brute-force detection fires once; its evidence starts at the first failure', async () => {
  const t = setup({
    builtIns: {
      distributed_brute_force: false,
      password_spraying: false,
      disallowed_algorithm: false,
      invalid_signature_burst: false,
      access_token_replay: false,
    },
  });
  // A success with no brute force before it: nothing.
  t.record(success('alice', '203.0.113.7'));
  const first = t.record(failure('alice', '203.0.113.7')).id;
  for (let i = 0; i < 9; i++) t.record(failure('alice', '203.0.113.7'));
  t.at(T0 + 9 * MIN);
  const ok = t.record(success('alice', '203.0.113.7')).id;
  t.record(success('alice', '203.0.113.7'));
  const found = await t.detected();
  expect(found.map((e) => e.type)).toEqual([
    'authn.bruteforce.detected',
    'authn.bruteforce_success.detected',
  ]);
  expect(found[1]).toMatchObject({
    user: { id: 'alice' },
    source: { ip: '203.0.113.7' },
    detection: {
      detector: 'success_after_brute_force',
      severity: 'critical',
      first,
      last: ok,
      window_s: 600,
    },
  });
  expect(found[1]!.detection!.key).toBe(hash(hash('alice')));

  // More than 10 minutes later: not this detector's.
  const t2 = setup({ builtIns: { distributed_brute_force: false, password_spraying: false } });
  for (let i = 0; i < 10; i++) t2.record(failure('bob', '203.0.113.8'));
  t2.at(T0 + 11 * MIN);
  t2.record(success('bob', '203.0.113.8'));
  expect((await t2.detected()).map((e) => e.type)).toEqual(['authn.bruteforce.detected']);
});

const api = (
  type: string,
  ip: string,
  token: Record<string, unknown>,
  reason?: string,
): ManualEvent => ({
  type,
  reason,
  source: { ip },
  oauth: { token: { type: 'access_token', verified: false, ...token } as never },
});

test('disallowed_algorithm: one token with alg none or outside the allow list fires, once per IP until 10 quiet minutes', async () => {
  const t = setup(only('disallowed_algorithm'));
  t.record(api('api.access.success', '203.0.113.1', { fingerprint: 'f-ok', alg: 'RS256' }));
  expect(await t.detected()).toEqual([]);
  t.record(
    api(
      'api.authn.failure',
      '203.0.113.1',
      { fingerprint: 'f-none', alg: 'none' },
      'alg_not_allowed',
    ),
  );
  t.record(api('api.authn.failure', '203.0.113.1', { fingerprint: 'f-none', alg: 'none' }));
  t.record(api('api.access.success', '203.0.113.2', { fingerprint: 'f-hs', alg: 'HS256' }));
  let found = await t.detected();
  expect(
    found.map((e) => [e.type, e.source?.ip, e.detection?.count, e.detection?.threshold]),
  ).toEqual([
    ['api.disallowed_alg.detected', '203.0.113.1', 1, 1],
    ['api.disallowed_alg.detected', '203.0.113.2', 1, 1],
  ]);
  expect(found[0]!.oauth?.token).toMatchObject({ fingerprint: 'f-none', alg: 'none' });
  t.at(T0 + 11 * MIN);
  t.record(api('api.authn.failure', '203.0.113.1', { fingerprint: 'f-none', alg: 'none' }));
  found = await t.detected();
  expect(found).toHaveLength(3);
});

test('invalid_signature_burst: the 6th invalid signature within the leak fires (bucket of 5), 5 do not; it re-arms once drained', async () => {
  const t = setup(only('invalid_signature_burst'));
  const bad = () =>
    t.record(api('api.authn.failure', '203.0.113.5', { fingerprint: 'f' }, 'signature_invalid'));
  for (let i = 0; i < 5; i++) bad();
  // Other reasons are not signatures.
  t.record(api('api.authn.failure', '203.0.113.5', { fingerprint: 'f' }, 'token_expired'));
  expect(await t.detected()).toEqual([]);
  bad();
  bad();
  let found = await t.detected();
  expect(found.map((e) => e.detection)).toEqual([
    expect.objectContaining({ detector: 'invalid_signature_burst', count: 6, threshold: 6 }),
  ]);
  expect(found[0]!.detection!.window_s).toBeUndefined();
  // Six leak in 60 s: drained, the next burst fires again.
  t.at(T0 + 61_000);
  for (let i = 0; i < 6; i++) bad();
  found = await t.detected();
  expect(found).toHaveLength(2);
  // Slow enough to leak: never more than the capacity.
  const slow = setup(only('invalid_signature_burst'));
  for (let i = 0; i < 30; i++) {
    slow.at(T0 + i * 10_000);
    slow.record(api('api.authn.failure', '203.0.113.6', { fingerprint: 'f' }, 'signature_invalid'));
  }
  expect(await slow.detected()).toEqual([]);
});

test('access_token_replay: one token from a second /24 (or /64) while valid fires; the same network, or after expiry, does not', async () => {
  const t = setup(only('access_token_replay'));
  const exp = new Date(T0 + 60 * MIN).toISOString();
  const use = (ip: string, fingerprint = 'tok-1', expires_at = exp) =>
    t.record(api('api.access.success', ip, { fingerprint, expires_at, verified: true }));
  use('203.0.113.10');
  use('203.0.113.200');
  use('2001:db8:1:2::1', 'tok-2');
  use('2001:db8:1:2:ffff::9', 'tok-2');
  expect(await t.detected()).toEqual([]);
  t.at(T0 + 61 * MIN);
  use('198.51.100.1');
  expect(await t.detected()).toEqual([]);
  t.at(T0 + 5 * MIN);
  use('198.51.100.1');
  use('2001:db8:1:3::1', 'tok-2');
  const found = await t.detected();
  expect(found.map((e) => [e.type, e.oauth?.token?.fingerprint, e.source?.ip])).toEqual([
    ['oauth.token_replay.detected', 'tok-1', '198.51.100.1'],
    ['oauth.token_replay.detected', 'tok-2', '2001:db8:1:3::1'],
  ]);
  expect(found[0]!.detection).toMatchObject({ count: 2, threshold: 2 });
});

test('no detector reads *.detected events: a custom detector counting everything never sees one', async () => {
  const seen: string[] = [];
  const everything: Detector = {
    name: 'everything',
    type: 'test.everything.detected',
    severity: 'low',
    rule: { kind: 'count', threshold: 1, window_s: 1 },
    read(e) {
      seen.push(e.type);
      return { key: e.id };
    },
  };
  const t = setup({ builtIns: { password_spraying: false }, custom: [everything] });
  for (let i = 0; i < 10; i++) t.record(failure('alice', '203.0.113.7'));
  t.record({ type: 'app.export.detected', detection: undefined });
  const found = await t.detected();
  // 10 failures: 10 of its own decisions, and brute force; none of them read again.
  expect(found.filter((e) => e.detection?.detector === 'everything')).toHaveLength(10);
  expect(found.filter((e) => e.detection?.detector === 'brute_force')).toHaveLength(1);
  expect(seen).toEqual(new Array(10).fill('authn.login.failure'));
});

test('a detection is a chained event delivered to every sink, the detector sink included', async () => {
  const a = memorySink();
  const b = memorySink();
  const sink = detectors(only('brute_force'));
  const auditor = createAuditor({
    sinks: [a, sink, b],
    keys: { fingerprint: KEY, chain: 'detect-test-chain-secret-8f2a6c1e9b0d4a77' },
    delivery: { handleSignals: false },
  });
  for (let i = 0; i < 10; i++) auditor.record(failure('alice', '203.0.113.7'));
  await auditor.flush();
  const [inA] = a.events.filter((e) => e.outcome === 'detected');
  const [inB] = b.events.filter((e) => e.outcome === 'detected');
  expect(inA).toBeDefined();
  expect(inB).toEqual(inA);
  expect(inA!.seq).toBe(11);
  expect(inA!.chain?.prev).toBe(a.events[9]!.chain?.hash);
  expect(sink.stats()).toMatchObject({ events: 10, detections: 1, lost: 0, failed: 0 });
  await auditor.close();
});

test('a custom detector that throws skips the event for itself only, counted in stats', async () => {
  const broken: Detector = {
    name: 'broken',
    type: 'test.broken.detected',
    severity: 'low',
    rule: { kind: 'count', threshold: 1, window_s: 60 },
    read() {
      throw new Error('bug');
    },
  };
  const t = setup({ ...only('brute_force'), custom: [broken] });
  for (let i = 0; i < 10; i++) t.record(failure('alice', '203.0.113.7'));
  expect((await t.detected()).map((e) => e.detection?.detector)).toEqual(['brute_force']);
  expect(t.sink.stats().failed).toBe(10);
});

test("a closed engine stops listening to a shared state's fallbacks: one state outlives many engines", async () => {
  const listeners = new Set<unknown>();
  const inner = memoryState();
  const state = {
    apply: inner.apply.bind(inner),
    stats: inner.stats.bind(inner),
    listen(listener: unknown) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  const first = setup({ state });
  const second = setup({ state });
  expect(listeners.size).toBe(2);
  await first.auditor.close();
  expect(listeners.size).toBe(1);
  await second.auditor.close();
  expect(listeners.size).toBe(0);
});
