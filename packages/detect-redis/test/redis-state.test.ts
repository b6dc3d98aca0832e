// The Redis state on the machine's Redis (127.0.0.1:6379), under a prefix of each test's own,
// deleted afterwards: its options, its answers against the memory state's on random op sequences
// (the proof that a detector means the same on both), the keys and TTLs it leaves in Redis.
import { memoryState, type Rule, type StateOp, type StateResult } from '@authtrail/detect';
import { redisState, type RedisDetectorState, type RedisStateOptions } from '../src/index.js';
import { REDIS_URL, testPrefix } from './helpers.js';

const S = 1000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/** A small seeded generator (mulberry32): a failing seed can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Windows of 20 s and more: the keys' TTLs run on the real clock, and a run lasts seconds.
// The rules a state applies op by op (a silence rule is the engine's tick's, not an op's).
const RULES: readonly (readonly [string, StateOp['rule']])[] = [
  ['count#0', { kind: 'count', threshold: 3, window_s: 60 }],
  ['count#1', { kind: 'count', threshold: 1, window_s: 120 }],
  ['consecutive#0', { kind: 'consecutive', threshold: 4, window_s: 90 }],
  ['distinct#0', { kind: 'distinct', threshold: 3, window_s: 60 }],
  ['sequence#0', { kind: 'sequence', within_s: 60 }],
  ['bucket#0', { kind: 'bucket', capacity: 3, leak_s: 20 }],
  ['bucket#1', { kind: 'bucket', capacity: 0, leak_s: 45 }],
  // A fractional factor (the ceiling of the scaled baseline), a distinct share, late events into
  // the window and into the baseline, and a key left quiet past its baseline now and then.
  [
    'surge#0',
    { kind: 'surge', threshold: 3, window_s: 40, factor: 1.5, baseline_s: 120, distinct: 0.6 },
  ],
  ['surge#1', { kind: 'surge', threshold: 2, window_s: 30, factor: 1, baseline_s: 45 }],
  // Step `a` kept after it fired: every step `b` in time fires, the count going up.
  ['sequence#1', { kind: 'sequence', within_s: 50, repeat: true }],
];

/** Random batches of ops over a few keys: resets, late events, steps, `when` dependencies. */
function sequence(seed: number, total: number): StateOp[][] {
  const rand = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  const batches: StateOp[][] = [];
  let t = T0;
  let id = 0;
  let made = 0;
  while (made < total) {
    const batch: StateOp[] = [];
    const size = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < size; i++, made++) {
      // Whole seconds, so that events fall exactly on a window's edge now and then; now and then
      // a quiet spell longer than any window and baseline.
      t += Math.floor(rand() * 5) * S + (rand() < 0.01 ? 300 * S : 0);
      // Now and then an event delivered late: windows must not move back for it.
      const time = rand() < 0.15 ? t - Math.floor(rand() * 40) * S : t;
      const [slot, rule] = pick(RULES);
      const op: StateOp = {
        slot,
        rule,
        key: pick(['kA', 'kB']),
        time,
        id: `e${++id}`,
        value:
          rule.kind === 'distinct' || rule.kind === 'surge'
            ? pick(['v1', 'v2', 'v3', 'v4', 'v5'])
            : undefined,
        reset: rule.kind === 'count' || rule.kind === 'consecutive' ? rand() < 0.15 : undefined,
        step: rule.kind === 'sequence' && rand() < 0.4 ? 'a' : undefined,
      };
      batch.push(op);
      // A sequence's step `a` taken from an earlier op of the batch firing, as the engine makes it.
      if (rule.kind !== 'sequence' && rand() < 0.3)
        batch.push({
          slot: 'sequence#0',
          rule: RULES[4]![1],
          key: op.key,
          time,
          id: op.id,
          step: 'a',
          when: batch.length - 1,
        });
    }
    batches.push(batch);
  }
  return batches;
}

let t: ReturnType<typeof testPrefix>;
let opened: RedisDetectorState[] = [];
/** A state on the test's prefix, closed after the test. */
const open = (options: RedisStateOptions = {}) => {
  const state = redisState({ redis: REDIS_URL, prefix: t.prefix, timeoutMs: 5000, ...options });
  opened.push(state);
  return state;
};
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await Promise.all(opened.map((s) => s.close()));
  opened = [];
  await t.drop();
});

describe('options', () => {
  test('reports every problem at once, each with its place and a fix, never the value', () => {
    let error: unknown;
    try {
      redisState({
        redis: 'http://user:hunter2@example.com',
        prefix: '',
        timeoutMs: 0,
        onFallback: 'log' as never,
        nope: 1,
      } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const issues = (error as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(issues.sort()).toEqual(
      [
        'redisState({ nope })',
        'redisState({ prefix })',
        'redisState({ timeoutMs })',
        'redisState({ onFallback })',
        'redisState({ redis })',
      ].sort(),
    );
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('the same answers as memoryState', () => {
  test.each([1, 2, 3, 4, 5, 6])(
    'gives, op for op, the results memoryState gives on random batches (seed %i)',
    async (seed) => {
      const memory = memoryState();
      const redis = open();
      let fired = 0;
      let surges = 0;
      for (const batch of sequence(seed, 400)) {
        const expected = memory.apply(batch) as readonly StateResult[];
        const got = await redis.apply(batch);
        expect(got).toEqual(expected);
        fired += expected.filter((r) => r.fired).length;
        surges += expected.filter((r, i) => r.fired && batch[i]!.rule.kind === 'surge').length;
      }
      // Every batch on Redis, none counted locally; and the sequences did fire (not a vacuous run).
      expect(redis.stats()).toMatchObject({ fallbacks: 0, batches: expect.any(Number) });
      expect(fired).toBeGreaterThan(10);
      // Surges fired more than once per key: episodes ended and new ones began.
      expect(surges).toBeGreaterThan(4);
    },
  );

  test('runs a batch as one script: the script loaded again after SCRIPT FLUSH, the batch atomic', async () => {
    const state = open();
    const rule: Rule = { kind: 'count', threshold: 2, window_s: 60 };
    const op = (id: string): StateOp => ({ slot: 'd#0', rule, key: 'k', time: T0, id });
    await t.redis.script('FLUSH');
    // NOSCRIPT on EVALSHA: the script itself is sent, and Redis holds it afterwards.
    expect((await state.apply([op('a'), op('b')])).map((r) => r.fired)).toEqual([false, true]);
    const watcher = t.redis.duplicate();
    const monitor = await watcher.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args[0]!.toLowerCase()));
    const results = await state.apply([op('c'), op('d'), op('e')]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    monitor.disconnect();
    watcher.disconnect();
    // One EVALSHA for three ops; the GETs and SETs inside the script are the script's.
    expect(commands.filter((c) => c === 'evalsha' || c === 'eval')).toEqual(['evalsha']);
    expect(results.map((r) => r.fired)).toEqual([false, false, false]);
  });
});

describe('what Redis holds', () => {
  test('each key expires with its window: count and distinct by window_s, a sequence by within_s, a bucket once drained', async () => {
    const state = open();
    const now = Date.now();
    await state.apply([
      {
        slot: 'c#0',
        rule: { kind: 'count', threshold: 5, window_s: 900 },
        key: 'k1',
        time: now,
        id: 'a',
      },
      {
        slot: 'd#0',
        rule: { kind: 'distinct', threshold: 5, window_s: 300 },
        key: 'k1',
        time: now,
        id: 'a',
        value: 'v',
      },
      {
        slot: 's#0',
        rule: { kind: 'sequence', within_s: 600 },
        key: 'k1',
        time: now,
        id: 'a',
        step: 'a',
      },
      {
        slot: 'b#0',
        rule: { kind: 'bucket', capacity: 5, leak_s: 10 },
        key: 'k1',
        time: now,
        id: 'a',
      },
      {
        slot: 'b#0',
        rule: { kind: 'bucket', capacity: 5, leak_s: 10 },
        key: 'k1',
        time: now,
        id: 'b',
      },
    ]);
    const ttl = async (name: string) => t.redis.pttl(`${t.prefix}${name}:k1`);
    const near = (ms: number) => [ms - 2000, ms + 1];
    const within = (got: number, [lo, hi]: number[]) => expect(got >= lo! && got <= hi!).toBe(true);
    within(await ttl('c#0'), near(900 * S));
    within(await ttl('d#0'), near(300 * S));
    within(await ttl('s#0'), near(600 * S + 1));
    // Two units in the bucket: drained in 2 x 10 s.
    within(await ttl('b#0'), near(20 * S + 1));
    expect(await t.keys()).toHaveLength(4);
    // A reset (a success) deletes its key rather than leave it to expire.
    await state.apply([
      {
        slot: 'c#0',
        rule: { kind: 'count', threshold: 5, window_s: 900 },
        key: 'k1',
        time: now,
        id: 'c',
        reset: true,
      },
    ]);
    expect(await t.keys()).toHaveLength(3);
  });

  test('keeps at most `threshold` events per key however many come', async () => {
    const state = open();
    const rule: Rule = { kind: 'count', threshold: 3, window_s: 60 };
    const ops = Array.from({ length: 500 }, (_, i): StateOp => ({
      slot: 'c#0',
      rule,
      key: 'k',
      time: Date.now() + i,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    const results = await state.apply(ops);
    expect(results.filter((r) => r.fired)).toHaveLength(1);
    const [key] = await t.keys();
    // Three times (9 bytes each in MessagePack) and one id: nowhere near 500 events' worth.
    expect((await t.redis.strlen(key!)) < 200).toBe(true);
  });
});

test('a client you give is used as it is and stays yours: close() leaves it connected', async () => {
  const state = redisState({ redis: t.redis, prefix: t.prefix });
  const rule: Rule = { kind: 'count', threshold: 1, window_s: 60 };
  const [result] = await state.apply([{ slot: 'c#0', rule, key: 'k', time: Date.now(), id: 'a' }]);
  expect(result).toMatchObject({ fired: true, count: 1, first: 'a' });
  expect(state.stats()).toMatchObject({ batches: 1, fallbacks: 0 });
  await state.close();
  expect(await t.redis.ping()).toBe('PONG');
});
