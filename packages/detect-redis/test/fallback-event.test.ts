// The fallback as an audit event: a password-protected redis-server of this test's own is killed
// mid-stream, then started again, and stopped (SIGSTOP: a Redis that does not answer). The engine
// records each change of where it counts in the trail, once per outage, with the user's callbacks
// still called; no event carries the Redis password, URL or a key.
import type { ChildProcess } from 'node:child_process';
import {
  createAuditor,
  memorySink,
  toEcs,
  toOcsf,
  type AuditEvent,
  type ManualEvent,
} from '@authtrail/core';
import { detectors } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';
import { freePort, startRedis, stopRedis } from './helpers.js';
// The official OCSF 1.3.0 and ECS 8.11 definitions, as core's format tests read them.
import { ecsProblems, ocsfProblems } from '../../core/test/formats-schemas.js';

const KEY = 'detect-redis-fallback-event-fingerprint-key-7c2d';
const PASSWORD = 'redis-password-canary-4f8e1b';
const PREFIX = 'fallback-event-test:';

const failure = (account: string): ManualEvent => ({
  type: 'authn.login.failure',
  reason: 'invalid_credentials',
  observer: { role: 'op' },
  user: { id: account },
  source: { ip: '198.51.100.7' },
});

const stateEvents = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.type.startsWith('audit.detection_state.'));

let server: ChildProcess | undefined;
afterEach(async () => {
  if (server) {
    server.kill('SIGCONT');
    await stopRedis(server);
  }
});

test('Redis killed mid-stream: one audit.detection_state.failure (store_unavailable), one audit.detection_state.success once it is back; the callbacks still called; no password, URL or key in them', async () => {
  const port = await freePort();
  server = await startRedis(port, ['--requirepass', PASSWORD]);
  const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
  let fellBack = 0;
  let recovered = 0;
  const state = redisState({
    redis: url,
    prefix: PREFIX,
    onFallback: () => fellBack++,
    onRecover: () => recovered++,
  });
  const memory = memorySink();
  const auditor = createAuditor({
    service: 'fallback-event-test',
    sinks: [memory, detectors({ builtIns: { brute_force: { threshold: 3 } }, state })],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  const send = async (account: string, n: number) => {
    for (let i = 0; i < n; i++) {
      auditor.record(failure(account));
      await auditor.flush();
    }
  };

  await send('before@example.com', 3);
  expect(stateEvents(memory.events)).toEqual([]);

  await stopRedis(server);
  // Several batches while it is down: one event for the outage, not one per batch.
  await send('during@example.com', 4);
  expect(state.stats().fallbacks).toBeGreaterThanOrEqual(4);
  expect(stateEvents(memory.events)).toEqual([
    expect.objectContaining({
      type: 'audit.detection_state.failure',
      outcome: 'failure',
      reason: 'store_unavailable',
      error: { code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' },
      observer: expect.objectContaining({ role: 'op', service: 'fallback-event-test' }),
    }),
  ]);
  // Detection went on, in this process.
  expect(memory.events.filter((e) => e.type === 'authn.bruteforce.detected')).toHaveLength(2);

  server = await startRedis(port, ['--requirepass', PASSWORD]);
  for (let i = 0; i < 100 && state.stats().shared === false; i++) {
    await send('probe@example.com', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await send('after@example.com', 2);
  const changes = stateEvents(memory.events);
  expect(changes.map((e) => [e.type, e.reason])).toEqual([
    ['audit.detection_state.failure', 'store_unavailable'],
    ['audit.detection_state.success', undefined],
  ]);
  expect([fellBack, recovered]).toEqual([1, 1]);

  // Chained and delivered like any event; valid in both formats; nothing of the store in them.
  for (const e of changes) {
    expect(ocsfProblems(toOcsf(e) as never)).toEqual([]);
    expect(ecsProblems(toEcs(e) as never)).toEqual([]);
  }
  const text = JSON.stringify([changes, changes.map(toEcs), changes.map(toOcsf)]);
  for (const secret of [PASSWORD, `127.0.0.1:${port}`, 'redis://', PREFIX])
    expect(text).not.toContain(secret);
  // Closing the auditor closes its sinks, and the state with them.
  await auditor.close();
});

test('Redis that does not answer (stopped): the failure says store_timeout', async () => {
  const port = await freePort();
  server = await startRedis(port, ['--requirepass', PASSWORD]);
  const state = redisState({
    redis: `redis://:${PASSWORD}@127.0.0.1:${port}`,
    prefix: PREFIX,
    timeoutMs: 150,
  });
  const memory = memorySink();
  const auditor = createAuditor({
    service: 'fallback-event-test',
    sinks: [memory, detectors({ state })],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  auditor.record(failure('first@example.com'));
  await auditor.flush();
  server.kill('SIGSTOP');
  auditor.record(failure('second@example.com'));
  await auditor.flush();
  expect(stateEvents(memory.events).map((e) => [e.type, e.reason])).toEqual([
    ['audit.detection_state.failure', 'store_timeout'],
  ]);
  server.kill('SIGCONT');
  // Closing the auditor closes its sinks, and the state with them.
  await auditor.close();
});
