// Enforcement over instances: Express apps (real HTTP), each with its own auditor, detectors()
// sink and redisState client on one Redis and prefix. A lock set where the brute force was
// detected is refused on every instance, one that starts later included; Redis holds keyed hashes
// only. With Redis unreachable each instance still enforces its own locks, and no request waits.
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAuditor, memorySink, type Auditor, type MemorySink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { detectors, type DetectorsSink } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';
import { freePort, REDIS_URL, testPrefix } from './helpers.js';

const KEY = 'detect-redis-enforce-fingerprint-key-2b7d';
const hash = (value: string) =>
  createHmac('sha256', KEY).update(value).digest().subarray(0, 16).toString('base64url');
const IP = '203.0.113.41';
const RIGHT = 'right-canary-6a0c';

interface Instance {
  url: string;
  auditor: Auditor;
  memory: MemorySink;
  sink: DetectorsSink;
  close(): Promise<void>;
}

async function instance(redis: string, prefix: string): Promise<Instance> {
  const memory = memorySink();
  const sink = detectors({
    enforce: { lockout_s: 60 },
    state: redisState({ redis, prefix, timeoutMs: 100 }),
  });
  const auditor = createAuditor({
    service: 'detect-redis-enforce',
    sinks: [memory, sink],
    keys: { fingerprint: KEY },
    signIn: { routes: 'POST /session' },
    delivery: { handleSignals: false },
  });
  const app = express();
  app.set('trust proxy', true);
  app.use(authtrail({ auditor }));
  app.post('/session', express.urlencoded({ extended: false }), (req, res) => {
    const body = req.body as Record<string, string>;
    if (body.password === RIGHT) res.redirect('/home');
    else res.type('html').send('<form>');
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    auditor,
    memory,
    sink,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await auditor.close();
    },
  };
}

async function post(at: Instance, username: string, password: string) {
  const started = performance.now();
  const response = await fetch(`${at.url}/session`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': IP },
    body: new URLSearchParams({ username, password }).toString(),
  });
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

/** Polls `post` until it answers `status` (a lock travels over Redis), within `ms`. */
async function until(at: Instance, status: number, ms = 2000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const { status: got } = await post(at, 'alice', RIGHT);
    if (got === status || Date.now() - start > ms) return got;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('a lock set on one instance is refused on the others, one started later included; Redis holds keyed hashes only', async () => {
  const { prefix, redis, keys, drop } = testPrefix();
  const a = await instance(REDIS_URL, prefix);
  const b = await instance(REDIS_URL, prefix);
  let c: Instance | undefined;
  try {
    for (let i = 0; i < 10; i++) expect((await post(a, 'alice', `wrong-${i}`)).status).toBe(200);
    // B never saw a failure: the lock reaches it over Redis.
    expect(await until(b, 429)).toBe(429);
    expect(await until(a, 429)).toBe(429);
    // Bob from the same IP goes on at B.
    expect((await post(b, 'bob', RIGHT)).status).toBe(302);

    // An instance that starts now loads the running lock.
    c = await instance(REDIS_URL, prefix);
    expect(await until(c, 429)).toBe(429);

    // One instance set it and records it; the others hold it silently.
    await Promise.all([a, b, c].map((i) => i.auditor.flush()));
    const locks = [a, b, c].flatMap((i) =>
      i.memory.events.filter((e) => e.type === 'authn.lockout.success'),
    );
    expect(locks).toHaveLength(1);
    expect(b.sink.stats().enforce).toMatchObject({ locks: 1, locked: 0, heard: 1 });
    expect(c.sink.stats().enforce).toMatchObject({ locks: 1, heard: 1 });

    // Redis: the lock's key and value are keyed hashes and a time.
    const lockKeys = (await keys()).filter((k) => k.startsWith(`${prefix}lock:`));
    expect(lockKeys).toEqual([`${prefix}lock:${locks[0]!.lockout!.key}`]);
    const value = JSON.parse((await redis.get(lockKeys[0]!))!) as Record<string, unknown>;
    expect(value).toEqual({ ip: hash(IP), until: Date.parse(locks[0]!.lockout!.until) });
    expect(await redis.pttl(lockKeys[0]!)).toBeGreaterThan(50_000);
    for (const k of await keys()) {
      expect(k).not.toContain('alice');
      expect(k).not.toContain(IP);
    }
  } finally {
    await Promise.all([a.close(), b.close(), c?.close()]);
    await drop();
  }
});

test('with Redis unreachable, the instance that detected the brute force enforces its lock, and no request waits', async () => {
  const down = `redis://127.0.0.1:${await freePort()}`;
  const a = await instance(down, 'authtrail-test:down:');
  try {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await post(a, 'alice', `wrong-${i}`)).ms);
    expect(await until(a, 429)).toBe(429);
    const refused = await post(a, 'alice', RIGHT);
    expect(refused.status).toBe(429);
    // Far below the state's 100 ms timeout: nothing on the request path waits on Redis.
    expect(Math.max(...times, refused.ms)).toBeLessThan(100);
    expect(a.sink.stats().enforce).toMatchObject({ locks: 1, locked: 1 });
  } finally {
    await a.close();
  }
});
