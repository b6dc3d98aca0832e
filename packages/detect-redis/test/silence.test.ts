// silent_pipeline on the shared Redis state: the last heartbeat of each instance lives in Redis,
// so one instance notices that another went silent, and exactly one of those watching records it.
// The silent instance is a real child process, frozen with SIGSTOP and thawed with SIGCONT; real
// time with 1-second heartbeats (about ten seconds).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { createAuditor, memorySink, type AuditEvent } from '@authtrail/core';
import { callbackAlert, detectors, type AlertNotification, type Sighting } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';
import { Redis } from 'ioredis';
import { freePort, startRedis, testPrefix } from './helpers.js';

const KEY = 'detect-redis-silence-fingerprint-key-31f9';
const hash = (value: string) =>
  createHmac('sha256', KEY).update(value).digest().subarray(0, 16).toString('base64url');
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const SLOT = 'silent_pipeline#0';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

let t: ReturnType<typeof testPrefix>;
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await t.drop();
});

test('two states on one Redis: a key watched through one is found silent through the other, handed out once, over when seen again', async () => {
  const a = redisState({ prefix: t.prefix });
  const b = redisState({ prefix: t.prefix });
  try {
    const key = hash('orders\u0000host-a/1234');
    const sighting = (time: number, id: string): Sighting => ({
      slot: SLOT,
      key,
      time,
      id,
      quiet_s: 3,
    });
    await a.watch!([sighting(T0, 'e1')]);
    expect(await b.silent!([SLOT], T0 + 2999, [])).toEqual({ silent: [], over: [] });
    const [found, other] = await Promise.all([
      b.silent!([SLOT], T0 + 3000, []),
      a.silent!([SLOT], T0 + 3000, []),
    ]);
    // Claimed atomically: exactly one of the two gets it.
    expect([...found.silent, ...other.silent]).toEqual([
      { slot: SLOT, key, id: 'e1', time: T0, quiet_s: 3 },
    ]);
    const held = [{ slot: SLOT, key }];
    expect(await b.silent!([SLOT], T0 + 9000, held)).toEqual({ silent: [], over: [] });
    await a.watch!([sighting(T0 + 10_000, 'e2')]);
    expect(await b.silent!([SLOT], T0 + 10_001, held)).toEqual({ silent: [], over: held });
    // Keys: the slot's two, each expiring; members are the keyed hashes.
    const keys = (await t.keys()).sort();
    expect(keys).toEqual([`${t.prefix}${SLOT}:due`, `${t.prefix}${SLOT}:seen`]);
    for (const k of keys) expect(await t.redis.pttl(k)).toBeGreaterThan(0);
    expect(await t.redis.zrange(`${t.prefix}${SLOT}:due`, 0, -1)).toEqual([key]);
    // A closing heartbeat forgets the key (and Redis drops the emptied keys).
    await a.watch!([{ ...sighting(T0 + 11_000, 'e3'), reset: true, quiet_s: 0 }]);
    expect(await b.silent!([SLOT], T0 + 99_000, [])).toEqual({ silent: [], over: [] });
    expect(await t.keys()).toEqual([]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('Redis down: sightings and ticks fall back to this process; what it kept is sent when Redis answers again', async () => {
  const port = await freePort();
  let server = await startRedis(port);
  const fallbacks: string[] = [];
  let recovered = 0;
  const state = redisState({
    redis: { port, host: '127.0.0.1', retryStrategy: () => 50 },
    prefix: t.prefix,
    timeoutMs: 200,
    onFallback: (error) => fallbacks.push(error.code),
    onRecover: () => recovered++,
  });
  const client = new Redis({ port, host: '127.0.0.1' });
  try {
    const key = hash('orders\u0000host-b/1');
    const sighting = (time: number, id: string): Sighting => ({
      slot: SLOT,
      key,
      time,
      id,
      quiet_s: 3,
    });
    await state.watch!([sighting(T0, 'e1')]);
    await client.quit();
    server.kill('SIGKILL');
    await once(server, 'exit');
    // Away: the next sighting and the ticks are this process's.
    await state.watch!([sighting(T0 + 1000, 'e2')]);
    expect(await state.silent!([SLOT], T0 + 3999, [])).toEqual({ silent: [], over: [] });
    const alone = await state.silent!([SLOT], T0 + 4000, []);
    expect(alone.silent.map((s) => s.id)).toEqual(['e2']);
    expect(fallbacks).toEqual(['ERR_AUTHTRAIL_STORE_UNAVAILABLE']);
    expect(state.stats().fallbacks).toBeGreaterThanOrEqual(3);

    // Back (empty: a Redis that lost its data): the kept sighting is sent with the next tick.
    server = await startRedis(port);
    const back = new Redis({ port, host: '127.0.0.1' });
    try {
      let answer;
      for (let i = 0; recovered === 0 && i < 100; i++) {
        answer = await state.silent!([SLOT], T0 + 2000, []);
        await sleep(50);
      }
      expect(recovered).toBe(1);
      expect(answer).toEqual({ silent: [], over: [] });
      const seen = await back.hget(`${t.prefix}${SLOT}:seen`, key);
      expect(JSON.parse(seen!)).toMatchObject({ t: T0 + 1000, i: 'e2', s: 0 });
    } finally {
      await back.quit();
    }
  } finally {
    await state.close();
    client.disconnect();
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
  }
});

/** The child instance: its pid, and its heartbeats as delivered (id and time). */
function child(prefix: string): { proc: ChildProcess; beats: { id: string; time: string }[] } {
  const proc = spawn(
    process.execPath,
    [`${__dirname}/fixtures/heartbeat-instance.mjs`, prefix, KEY],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const beats: { id: string; time: string }[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const [id, time] = line.split(' ');
    beats.push({ id: id!, time: time! });
  });
  return { proc, beats };
}

/** A watching instance in this process: heartbeats of its own, an engine, alerts to a callback. */
function watcher(prefix: string) {
  const memory = memorySink();
  const notes: AlertNotification[] = [];
  const auditor = createAuditor({
    service: 'watchers',
    heartbeat: 1,
    sinks: [
      memory,
      detectors({
        state: redisState({ prefix, timeoutMs: 2000 }),
        alerts: { to: [callbackAlert((n) => void notes.push(n))], groupWaitMs: 0 },
      }),
    ],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  const detected = (): AuditEvent[] =>
    memory.events.filter((e) => e.type === 'audit.silence.detected');
  return { auditor, notes, detected, memory };
}

test('an instance that stops beating is detected by exactly one of the others, once; its alert resolves when it beats again; Redis holds no instance name', async () => {
  const app = child(t.prefix);
  const b = watcher(t.prefix);
  const c = watcher(t.prefix);
  try {
    await until(() => app.beats.length >= 2);
    app.proc.kill('SIGSTOP');
    const last = app.beats.at(-1)!;
    const all = () => [...b.detected(), ...c.detected()];
    await until(() => all().length > 0);
    expect(Date.now() - Date.parse(last.time)).toBeGreaterThanOrEqual(3000);
    // Other ticks of both watchers come and go: still exactly one.
    await sleep(1500);
    expect(all()).toHaveLength(1);
    expect(all()[0]).toMatchObject({
      type: 'audit.silence.detected',
      detection: {
        detector: 'silent_pipeline',
        key: hash(`orders\u0000${hostname()}/${app.proc.pid}`),
        severity: 'high',
        threshold: 3,
        first: last.id,
        last: last.id,
        first_time: last.time,
      },
    });
    const notes = () => [...b.notes, ...c.notes];
    await until(() => notes().length > 0);

    // Redis holds keyed hashes only: no service or instance name in a key or a value.
    const raw = `${hostname()}/${app.proc.pid}`;
    for (const k of await t.keys()) {
      expect(k).not.toContain(raw);
      expect(k).not.toContain('orders');
      const type = await t.redis.type(k);
      const values =
        type === 'hash'
          ? Object.entries(await t.redis.hgetall(k)).flat()
          : type === 'zset'
            ? await t.redis.zrange(k, 0, -1)
            : [String(await t.redis.getBuffer(k))];
      for (const v of values) {
        expect(v).not.toContain(raw);
        expect(v).not.toContain('orders');
      }
    }

    app.proc.kill('SIGCONT');
    await until(() => notes().some((n) => n.status === 'resolved'));
    expect(notes().map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(all()).toHaveLength(1);
  } finally {
    app.proc.kill('SIGKILL');
    await b.auditor.close();
    await c.auditor.close();
  }
}, 30_000);
