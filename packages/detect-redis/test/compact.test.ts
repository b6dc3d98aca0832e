// The detector engine leaves out the ops of a batch that cannot change an answer (repeats of one
// token from one network). The Redis script ports memoryState step for step; here the claim is
// held on the real Redis too: a state given the compacted batch answers the ops kept as one given
// the whole batch, and answers the same afterwards.
import fc from 'fast-check';
import type { StateOp } from '@authtrail/detect';
// The engine's own helper, from its source: it is internal to @authtrail/detect.
import { compact } from '../../detect/src/internal/compact.js';
import { redisState, type RedisDetectorState } from '../src/index.js';
import { REDIS_URL, testPrefix } from './helpers.js';

const S = 1000;
// Windows far longer than the test: the keys' TTLs run on the real clock.
const RULES: readonly (readonly [string, StateOp['rule']])[] = [
  ['distinct#0', { kind: 'distinct', threshold: 2, window_s: 600 }],
  ['distinct#1', { kind: 'distinct', threshold: 3, window_s: 300 }],
  ['consecutive#0', { kind: 'consecutive', threshold: 2, window_s: 600 }],
  ['sequence#0', { kind: 'sequence', within_s: 600, repeat: true }],
];

const step = fc.record({
  rule: fc.nat(RULES.length - 1),
  key: fc.nat(1),
  value: fc.nat(1),
  advance: fc.constantFrom(0, 1, 200 * S),
  late: fc.constantFrom(0, 0, 0, 299 * S, 301 * S, 601 * S),
  flag: fc.boolean(),
  repeat: fc.integer({ min: 0, max: 8 }),
  gap: fc.constantFrom(0, 0, 1, 100 * S),
  follow: fc.boolean(),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

let ids = 0;
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
        ...(rule.kind === 'consecutive' && s.flag ? { reset: true } : {}),
        ...(rule.kind === 'sequence' && s.flag ? { step: 'a' as const } : {}),
      });
      if (s.follow && rule.kind !== 'sequence')
        ops.push({
          slot: 'sequence#0',
          rule: RULES[3]![1],
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

let t: ReturnType<typeof testPrefix>;
const opened: RedisDetectorState[] = [];
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await t.drop();
});

test('on Redis: the ops kept answer as in the whole batch, those left out did not fire, and the next batch answers the same', async () => {
  let run = 0;
  let dropped = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 25 }),
      fc.array(step, { minLength: 1, maxLength: 15 }),
      async (first, second) => {
        run++;
        const open = (name: string) => {
          const state = redisState({
            redis: REDIS_URL,
            prefix: `${t.prefix}${run}${name}:`,
            timeoutMs: 5000,
          });
          opened.push(state);
          return state;
        };
        const whole = open('w');
        const few = open('f');
        const t0 = Date.now();
        const ops = batch(first, t0);
        const c = compact(ops);
        const all = await whole.apply(ops);
        if (c === undefined) await few.apply(ops);
        else {
          dropped += ops.length - c.ops.length;
          const kept = await few.apply(c.ops);
          c.at.forEach((i, j) => expect(kept[j]).toEqual(all[i]));
          const at = new Set(c.at);
          all.forEach((r, i) => {
            if (!at.has(i)) expect(r.fired).toBe(false);
          });
        }
        const later = batch(second, t0 + 300 * S);
        expect(await few.apply(later)).toEqual(await whole.apply(later));
        expect(few.stats()).toMatchObject({ fallbacks: 0 });
      },
    ),
    { numRuns: 150 },
  );
  // Not a vacuous run: ops were left out.
  expect(dropped).toBeGreaterThan(100);
});
