// Two app instances in one process: two auditors, each with its own detectors() sink and its own
// redisState client on one Redis and prefix, see one attack whole.
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
import { detectors, memoryState, type DetectorState } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';
import { only } from '../../detect/test/support.js';
import { REDIS_URL, testPrefix } from './helpers.js';

// Instances share the fingerprint key: the state's keys are keyed hashes, equal only under one key.
const KEY = 'detect-redis-test-fingerprint-key-8c41e2';
const ACCOUNT = 'alice@example.com';
const IP = '203.0.113.77';

function instance(state: DetectorState) {
  const memory = memorySink();
  const sink = detectors({ ...only('brute_force'), state });
  const auditor = createAuditor({
    service: 'detect-redis-test',
    sinks: [memory, sink],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  return {
    auditor,
    sink,
    detected: (): AuditEvent[] => memory.events.filter((e) => e.outcome === 'detected'),
  };
}

const failure: ManualEvent = {
  type: 'authn.login.failure',
  reason: 'invalid_credentials',
  observer: { role: 'op' },
  user: { id: ACCOUNT },
  source: { ip: IP },
};

/** Ten failures of one account and IP, alternating between the two instances: 5 each. */
async function attack(a: ReturnType<typeof instance>, b: ReturnType<typeof instance>) {
  for (let i = 0; i < 10; i++) {
    const at = i % 2 === 0 ? a : b;
    at.auditor.record(failure);
    await at.auditor.flush();
  }
}

let t: ReturnType<typeof testPrefix>;
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await t.drop();
});

test('ten failures of one account and IP split 5/5 over two instances give exactly one authn.bruteforce.detected', async () => {
  const a = instance(redisState({ redis: REDIS_URL, prefix: t.prefix }));
  const b = instance(redisState({ redis: REDIS_URL, prefix: t.prefix }));
  await attack(a, b);
  const detected = [...a.detected(), ...b.detected()];
  expect(detected.map((e) => e.type)).toEqual(['authn.bruteforce.detected']);
  expect(detected[0]!.detection).toMatchObject({
    detector: 'brute_force',
    count: 10,
    threshold: 10,
  });
  // Fired by the instance that saw the tenth failure (the second), evidence from the first.
  expect(b.detected()).toHaveLength(1);
  expect(a.sink.stats()).toMatchObject({ events: 5, detections: 0 });
  expect(b.sink.stats()).toMatchObject({ events: 5, detections: 1 });
  await Promise.all([a.auditor.close(), b.auditor.close()]);
});

test('with memory state each instance sees only its half: no detection (what sharing changes)', async () => {
  const a = instance(memoryState());
  const b = instance(memoryState());
  await attack(a, b);
  expect([...a.detected(), ...b.detected()]).toEqual([]);
  await Promise.all([a.auditor.close(), b.auditor.close()]);
});

test('Redis holds keyed hashes only: no account, IP or part of them in any key or value', async () => {
  const a = instance(redisState({ redis: REDIS_URL, prefix: t.prefix }));
  const b = instance(redisState({ redis: REDIS_URL, prefix: t.prefix }));
  await attack(a, b);
  const keys = await t.keys();
  expect(keys.length).toBeGreaterThan(0);
  const stored = [
    ...keys,
    ...(await Promise.all(keys.map((k) => t.redis.getBuffer(k)))).map((v) => v!.toString('latin1')),
  ];
  for (const text of stored)
    for (const raw of [ACCOUNT, 'alice', IP, '203.0.113', 'example.com'])
      expect(text).not.toContain(raw);
  // `<prefix><detector>#<rule>:<keyed hash>`
  for (const key of keys)
    expect(key.slice(t.prefix.length)).toMatch(/^brute_force#0:[A-Za-z0-9_-]{16,}$/);
  await Promise.all([a.auditor.close(), b.auditor.close()]);
});
