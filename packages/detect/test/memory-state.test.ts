// The in-memory state: each primitive applied directly, then the bound under a million distinct
// keys fed through a detectors() sink attached to a real auditor.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createAuditor, type AuditEvent, type Batch } from '@authtrail/core';
import {
  detectors,
  memoryState,
  type DetectorState,
  type Rule,
  type StateOp,
  type StateResult,
} from '../src/index.js';
import { only } from './support.js';

const S = 1000;
/** The memory state answers at once: no promise. */
const apply = (state: DetectorState, ops: StateOp[]) => state.apply(ops) as readonly StateResult[];

// The heap as it is after a full collection: what the state keeps, not what it let go.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const retained = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
let n = 0;
const op = (rule: StateOp['rule'], time: number, extra: Partial<StateOp> = {}): StateOp => ({
  slot: 'test#0',
  rule,
  key: 'k',
  time,
  id: `e${++n}`,
  ...extra,
});

test('one call applies its ops in order; an op with `when` runs only if that op fired, its evidence starting where that one did', () => {
  const state = memoryState();
  const count: Rule = { kind: 'count', threshold: 2, window_s: 60 };
  const seq: Rule = { kind: 'sequence', within_s: 60 };
  const results = apply(state, [
    op(count, 0, { id: 'first' }),
    op(seq, 0, { slot: 'seq#0', step: 'a', when: 0 }),
    op(count, S, { id: 'second' }),
    op(seq, S, { slot: 'seq#0', step: 'a', when: 2 }),
    op(seq, 2 * S, { slot: 'seq#0', id: 'b' }),
  ]) as { fired: boolean; count: number; first?: string }[];
  expect(results.map((r) => r.fired)).toEqual([false, false, true, false, true]);
  expect(results[2]).toMatchObject({ count: 2, first: 'first', firstTime: 0 });
  expect(results[4]).toMatchObject({ count: 2, first: 'first', firstTime: 0 });
});

test('a distinct count counts values, not events, and forgets values older than its window', () => {
  const state = memoryState();
  const rule: Rule = { kind: 'distinct', threshold: 3, window_s: 10 };
  const at = (t: number, value: string) => apply(state, [op(rule, t * S, { value })])[0]!;
  expect(at(0, 'a').count).toBe(1);
  expect(at(1, 'a').count).toBe(1);
  expect(at(2, 'b').count).toBe(2);
  // 'a' was last seen at 1 s: gone at 11 s.
  expect(at(11, 'c')).toMatchObject({ count: 2, fired: false });
  expect(at(11.5, 'd')).toMatchObject({ count: 3, fired: true });
  // 'b' (2 s) is gone at 12.5 s: c, d, e are three, in the same episode.
  expect(at(12.5, 'e')).toMatchObject({ count: 3, fired: false });
});

test('a sequence fires once per step a, within its time only', () => {
  const state = memoryState();
  const rule: Rule = { kind: 'sequence', within_s: 10 };
  const fired = (t: number, step?: 'a') =>
    apply(state, [op(rule, t * S, step ? { step } : {})])[0]!.fired;
  expect(fired(0)).toBe(false);
  expect(fired(1, 'a')).toBe(false);
  expect(fired(5)).toBe(true);
  expect(fired(6)).toBe(false);
  expect(fired(10, 'a')).toBe(false);
  expect(fired(21)).toBe(false);
  expect(state.stats().keys).toBe(0);
});

test('the bound: a million distinct accounts and IPs keep at most maxKeys keys per detector rule, the rest evicted and counted', async () => {
  const maxKeys = 100_000;
  const state = memoryState({ maxKeys });
  // brute_force alone (one hash an event): each table is bounded the same way.
  const sink = detectors({ state, ...only('brute_force') });
  const auditor = createAuditor({
    sinks: [sink],
    keys: { fingerprint: 'detect-bound-fingerprint-key-2e7c9a1f5b3d' },
    delivery: { handleSignals: false },
  });
  const DISTINCT = 1_000_000;
  const BATCH = 10_000;
  const base = Date.UTC(2026, 0, 5);
  const before = retained();
  for (let start = 0; start < DISTINCT; start += BATCH) {
    const events: AuditEvent[] = [];
    for (let i = start; i < start + BATCH; i++)
      events.push({
        schema: 1,
        id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        time: new Date(base + i).toISOString(),
        type: 'authn.login.failure',
        outcome: 'failure',
        reason: 'invalid_credentials',
        observer: { role: 'op', service: 's', instance: 'i', adapter: 'core' },
        user: { hash: `account-${i}` },
        source: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      });
    await sink.write({ events, lines: () => '' } as Batch);
  }
  const { keys, evicted } = state.stats();
  // Evicted 1/64 of a table at a time: never more keys than maxKeys, never fewer than 63/64 of it.
  expect(keys).toBeLessThanOrEqual(maxKeys);
  expect(keys).toBeGreaterThan(maxKeys * (63 / 64));
  expect(keys + evicted).toBe(DISTINCT);
  // One failure per key: nothing fired, nothing recorded.
  expect(sink.stats()).toMatchObject({ events: DISTINCT, detections: 0 });
  // Measured, not timed: a key of one event holds about 420 bytes (its hash, a time, the first id).
  expect((retained() - before) / keys).toBeLessThan(600);
  await auditor.close();
}, 120_000);

test('per key, a count keeps at most its threshold of events however many arrive', () => {
  const state = memoryState();
  const rule: Rule = { kind: 'count', threshold: 100, window_s: 86_400 };
  const before = retained();
  let last;
  for (let i = 0; i < 200_000; i++) last = apply(state, [op(rule, i)])[0]!;
  expect(last).toMatchObject({ count: 100 });
  expect(retained() - before).toBeLessThan(64 * 1024);
});
