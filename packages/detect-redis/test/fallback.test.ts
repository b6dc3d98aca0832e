// Redis down or slow, for real: a redis-server of this test's own, killed mid-stream, stopped
// (SIGSTOP: a Redis that does not answer) and started again. Detection goes on in the process,
// counted, and comes back to Redis by itself.
import type { ChildProcess } from 'node:child_process';
import { createAuditor, memorySink, type AuthtrailError, type ManualEvent } from '@authtrail/core';
import { detectors } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';
import { freePort, startRedis, stopRedis } from './helpers.js';
import { Redis } from 'ioredis';

const KEY = 'detect-redis-fallback-fingerprint-key-1f9a';

const failure = (account: string): ManualEvent => ({
  type: 'authn.login.failure',
  reason: 'invalid_credentials',
  observer: { role: 'op' },
  user: { id: account },
  source: { ip: '198.51.100.9' },
});

let server: ChildProcess | undefined;

afterEach(async () => {
  if (server) {
    server.kill('SIGCONT');
    await stopRedis(server);
  }
});

test('Redis killed mid-stream: detections go on in the process, counted; restarted: batches go to Redis again', async () => {
  const port = await freePort();
  server = await startRedis(port);
  const fellBack: AuthtrailError[] = [];
  let recovered = 0;
  const state = redisState({
    redis: { port, host: '127.0.0.1', retryStrategy: () => 50 },
    prefix: 'fallback-test:',
    onFallback: (e) => fellBack.push(e),
    onRecover: () => recovered++,
  });
  const memory = memorySink();
  const sink = detectors({
    builtIns: { brute_force: { threshold: 3 } },
    state,
  });
  const auditor = createAuditor({
    service: 'fallback-test',
    sinks: [memory, sink],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  const detectedFor = (account: string) =>
    memory.events.filter((e) => e.type === 'authn.bruteforce.detected' && e.user?.id === account);
  const attack = async (account: string) => {
    for (let i = 0; i < 3; i++) {
      auditor.record(failure(account));
      await auditor.flush();
    }
  };

  await attack('before@example.com');
  expect(detectedFor('before@example.com')).toHaveLength(1);
  expect(state.stats()).toMatchObject({ fallbacks: 0, shared: true });

  await stopRedis(server);
  const started = performance.now();
  await attack('during@example.com');
  // Counted here, and at once: the batches did not wait for a Redis that is gone.
  expect(performance.now() - started).toBeLessThan(1500);
  expect(detectedFor('during@example.com')).toHaveLength(1);
  expect(state.stats().fallbacks).toBeGreaterThanOrEqual(3);
  expect(state.stats().shared).toBe(false);
  expect(fellBack).toHaveLength(1);
  expect(fellBack[0]).toMatchObject({ code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' });
  expect(fellBack[0]!.message).toMatch(/counting in this process/);

  server = await startRedis(port);
  // ioredis reconnects by itself (every 50 ms here); the next batches go to Redis again.
  for (let i = 0; i < 100 && state.stats().shared === false; i++) {
    auditor.record(failure('probe@example.com'));
    await auditor.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(state.stats().shared).toBe(true);
  expect(recovered).toBe(1);
  const fallbacks = state.stats().fallbacks;
  await attack('after@example.com');
  expect(detectedFor('after@example.com')).toHaveLength(1);
  expect(state.stats().fallbacks).toBe(fallbacks);
  // On the new Redis: what it counted is there.
  const check = new Redis({ port });
  expect((await check.keys('fallback-test:brute_force#0:*')).length).toBeGreaterThan(0);
  check.disconnect();
  await auditor.close();
});

test('Redis that does not answer (stopped): a batch waits timeoutMs at most, then is counted in the process', async () => {
  const port = await freePort();
  server = await startRedis(port);
  const state = redisState({
    redis: { port, host: '127.0.0.1' },
    prefix: 'slow-test:',
    timeoutMs: 150,
  });
  const op = (id: string) => ({
    slot: 'd#0',
    rule: { kind: 'count', threshold: 2, window_s: 60 } as const,
    key: 'k',
    time: Date.now(),
    id,
  });
  expect((await state.apply([op('a')]))[0]).toMatchObject({ fired: false, count: 1 });
  server.kill('SIGSTOP');
  const started = performance.now();
  const results = await state.apply([op('b'), op('c')]);
  const waited = performance.now() - started;
  expect(waited).toBeGreaterThanOrEqual(140);
  expect(waited).toBeLessThan(1000);
  // Counted locally: the local state had not seen 'a', and fires on the second of these two.
  expect(results.map((r) => r.fired)).toEqual([false, true]);
  expect(state.stats()).toMatchObject({ fallbacks: 1, shared: false });
  server.kill('SIGCONT');
  await state.close();
});
