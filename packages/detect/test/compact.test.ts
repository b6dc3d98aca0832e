// Leaving out the ops that cannot change an answer (an API's calls with one token): on random op
// streams full of repeats, a memoryState given the compacted batch answers the ops kept as one
// given the whole batch, never fired on an op left out, and behaves the same afterwards. Then the
// engine end to end: 512 calls with one token reach the state as a few ops, and replay still fires.
import fc from 'fast-check';
import { createAuditor, memorySink, type ManualEvent } from '@authtrail/core';
import {
  detectors,
  memoryState,
  type DetectorState,
  type StateOp,
  type StateResult,
} from '../src/index.js';
import { compact } from '../src/internal/compact.js';

const S = 1000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const apply = (state: DetectorState, ops: readonly StateOp[]) =>
  state.apply(ops) as readonly StateResult[];

// Short windows, so that runs cross them and late events fall out of them.
const RULES: readonly (readonly [string, StateOp['rule']])[] = [
  ['distinct#0', { kind: 'distinct', threshold: 2, window_s: 10 }],
  ['distinct#1', { kind: 'distinct', threshold: 3, window_s: 5 }],
  // Threshold 1 fires on every new episode: never compacted.
  ['distinct#2', { kind: 'distinct', threshold: 1, window_s: 10 }],
  ['count#0', { kind: 'count', threshold: 3, window_s: 10 }],
  ['consecutive#0', { kind: 'consecutive', threshold: 2, window_s: 10 }],
  ['sequence#0', { kind: 'sequence', within_s: 10, repeat: true }],
];
const SEQUENCE = RULES[5]![1];

/** One reading, repeated: the same slot, key and value `repeat` more times, `gap` ms apart. */
const step = fc.record({
  rule: fc.nat(RULES.length - 1),
  key: fc.nat(1),
  value: fc.nat(1),
  advance: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 50 }),
    fc.integer({ min: 1, max: 12 }).map((s) => s * S),
  ),
  // Delivered late: at or past a window behind the time before.
  late: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(4 * S, 6 * S, 9 * S, 11 * S, 15 * S, 30 * S) },
  ),
  reset: fc.boolean(),
  repeat: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })),
  gap: fc.constantFrom(0, 0, 1, 700, S, 3 * S),
  follow: fc.boolean(),
});

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

let ids = 0;
/** A batch as the engine makes it, a sequence's step `a` following some ops (`when`). */
function batch(steps: readonly Step[], t0: number): StateOp[] {
  const ops: StateOp[] = [];
  let t = t0;
  for (const s of steps) {
    t += s.advance;
    const [slot, rule] = RULES[s.rule]!;
    for (let r = 0; r <= s.repeat; r++) {
      const time = t - s.late + r * s.gap;
      ops.push({
        slot,
        rule,
        key: `k${s.key}`,
        time,
        id: `e${++ids}`,
        ...(rule.kind === 'distinct' ? { value: `v${s.value}` } : {}),
        ...((rule.kind === 'count' || rule.kind === 'consecutive') && s.reset
          ? { reset: true }
          : {}),
        ...(rule.kind === 'sequence' && s.reset ? { step: 'a' as const } : {}),
      });
      if (s.follow && rule.kind !== 'sequence')
        ops.push({
          slot: 'sequence#0',
          rule: SEQUENCE,
          key: `k${s.key}`,
          time,
          id: `e${ids}`,
          step: 'a',
          when: ops.length - 1,
        });
    }
    t += s.repeat * s.gap;
  }
  return ops;
}

test('the same answers and the same state after, with and without compaction, on memoryState (any maxKeys, late events, followers)', () => {
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 1, maxLength: 40 }),
      fc.array(step, { minLength: 1, maxLength: 30 }),
      fc.constantFrom(1, 2, 3, 100_000),
      (first, second, maxKeys) => {
        const whole = memoryState({ maxKeys });
        const few = memoryState({ maxKeys });
        const ops = batch(first, T0);
        const c = compact(ops);
        const all = apply(whole, ops);
        if (c === undefined) apply(few, ops);
        else {
          const kept = apply(few, c.ops);
          const at = new Set(c.at);
          c.at.forEach((i, j) => expect(kept[j]).toEqual(all[i]));
          ops.forEach((_, i) => {
            if (!at.has(i)) expect(all[i]!.fired).toBe(false);
          });
          // A kept op with `when` names the kept op it named before.
          c.ops.forEach((op, j) => {
            if (op.when !== undefined) expect(c.at[op.when]).toBe(ops[c.at[j]!]!.when);
          });
        }
        // What each state holds shows in what it answers next (and in its key counts).
        const later = batch(second, T0 + 20 * S);
        expect(apply(few, later)).toEqual(apply(whole, later));
        expect(few.stats()).toEqual(whole.stats());
      },
    ),
    { numRuns: 1500 },
  );
});

test('late events: the first op at each new millisecond is kept, since the first one back in the window starts the evidence', () => {
  const rule: StateOp['rule'] = { kind: 'distinct', threshold: 2, window_s: 10 };
  const op = (id: string, t: number, value: string): StateOp => ({
    slot: 'd#0',
    rule,
    key: 'k',
    value,
    time: T0 + t,
    id,
  });
  // The key's latest time is 100 s; v0 was seen again late (89 s), so the window (past 90 s)
  // holds nothing. v1's run starts out of the window and comes back into it at 91 s.
  const before = [op('a', 100 * S, 'v0'), op('b', 89 * S, 'v0')];
  const run = [
    op('r1', 89.5 * S, 'v1'),
    op('r2', 89.5 * S, 'v1'),
    op('r3', 91 * S, 'v1'),
    op('r4', 91 * S, 'v1'),
    op('r5', 92 * S, 'v1'),
  ];
  const c = compact([...before, ...run])!;
  expect(c.ops.map((o) => o.id)).toEqual(['a', 'b', 'r1', 'r3', 'r5']);
  const whole = memoryState();
  const few = memoryState();
  apply(whole, [...before, ...run]);
  apply(few, c.ops);
  // A second network fires, its evidence starting at r3: the first use back in the window.
  const next = [op('n', 93 * S, 'v2')];
  expect(apply(whole, next)[0]).toMatchObject({ fired: true, first: 'r3', firstTime: T0 + 91 * S });
  expect(apply(few, next)[0]).toMatchObject({ fired: true, first: 'r3', firstTime: T0 + 91 * S });
});

test('512 identical distinct ops at one millisecond are two; one per new millisecond is kept; a second value or key breaks the run', () => {
  const rule: StateOp['rule'] = { kind: 'distinct', threshold: 2, window_s: 60 };
  const op = (i: number, time = T0, extra: Partial<StateOp> = {}): StateOp => ({
    slot: 'replay#0',
    rule,
    key: 'token',
    value: 'net-a',
    time,
    id: `e${i}`,
    ...extra,
  });
  const same = Array.from({ length: 512 }, (_, i) => op(i));
  expect(compact(same)?.at).toEqual([0, 511]);
  // Four milliseconds, 128 calls each: the first of each and the last.
  const spread = Array.from({ length: 512 }, (_, i) => op(i, T0 + Math.floor(i / 128)));
  expect(compact(spread)?.at).toEqual([0, 128, 256, 384, 511]);
  // Another network, and another token in between, end the run: each is a run of its own.
  const mixed = [op(0), op(1), op(2), op(3, T0, { value: 'net-b' }), op(4), op(5), op(6)];
  expect(compact(mixed)?.at).toEqual([0, 2, 3, 4, 6]);
  const tokens = [op(0), op(1), op(2, T0, { key: 'other' }), op(3), op(4)];
  expect(compact(tokens)).toBeUndefined();
  // A run spans less than its window.
  const long = [op(0), op(1), op(2, T0 + 60 * S), op(3, T0 + 60 * S), op(4, T0 + 60 * S)];
  expect(compact(long)?.at).toEqual([0, 1, 2, 4]);
});

test('the engine: 512 API calls with one token reach the state as a few ops; the token from a second network still fires once', async () => {
  const state = memoryState();
  const applied: number[] = [];
  const keys = new Set<string>();
  const counted: DetectorState = {
    apply(ops) {
      applied.push(ops.length);
      for (const op of ops) keys.add(`${op.key} ${op.value}`);
      return state.apply(ops);
    },
    stats: () => state.stats(),
  };
  const memory = memorySink();
  const auditor = createAuditor({
    service: 'detect-test',
    sinks: [memory, detectors({ state: counted })],
    keys: { fingerprint: 'detect-test-fingerprint-key-5b1e9c7a3d2f' },
    clock: () => T0,
    delivery: { handleSignals: false },
  });
  const use = (ip: string): ManualEvent => ({
    type: 'api.access.success',
    source: { ip },
    oauth: { token: { type: 'access_token', verified: true, fingerprint: 'tok-1' } as never },
  });
  for (let i = 0; i < 512; i++) auditor.record(use('203.0.113.10'));
  await auditor.flush();
  for (let i = 0; i < 3; i++) auditor.record(use('198.51.100.7'));
  await auditor.flush();
  const found = memory.events.filter((e) => e.outcome === 'detected');
  expect(found.map((e) => [e.type, e.source?.ip, e.detection?.count])).toEqual([
    ['oauth.token_replay.detected', '198.51.100.7', 2],
  ]);
  // Every event at one time (the test clock): each batch's run is its first op and its last.
  expect(applied.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * applied.length);
  // The state is given keyed hashes only: never the token's fingerprint or the IP as sent.
  expect([...keys].join(' ')).not.toMatch(/tok-1|203\.0\.113|198\.51\.100/);
  await auditor.close();
});
