import type { StateOp } from '../types.js';

/** A batch with the ops that cannot change any answer left out: `at[i]` is `ops[i]`'s index in the batch. */
export interface Compacted {
  readonly ops: StateOp[];
  readonly at: number[];
}

/** The latest op of a slot in the batch, and the run it continues. */
interface Run {
  key: string;
  value: string | undefined;
  reset: boolean;
  /** The run's first time: it spans less than its window. */
  start: number;
  /** Index and time of its latest op, and whether that op may go if another follows. */
  last: number;
  time: number;
  droppable: boolean;
}

/**
 * The ops of a batch that cannot change any answer, left out before the state sees them: an API
 * call sends one `distinct` op per request (the token, its network), so a batch of 512 calls with
 * one token is 512 identical ops, each a state update (and on Redis a key read, decoded, encoded and
 * written back). Exact for any state that follows memoryState's semantics (the Redis script does):
 * the answers of the ops kept are the same, those left out did not fire, and the state after the
 * batch is the same. Undefined when every op is kept.
 *
 * - `distinct`, threshold 2 or more: a run of ops on one key with one value (no op of the slot on
 *   another key or value between them: another key could create an entry and evict this one by
 *   recency, which the ops left out would have refreshed), times not decreasing and spanning less
 *   than the window. A value seen again never raises the distinct count, and an op that did not
 *   fire cannot fire while the same value repeats; its only effects are the value's time and the
 *   key's recency, which the run's last op sets to the same end. One detail keeps more: when the
 *   key's latest time was already a window past the run's start (events delivered late), each op
 *   still out of the window restarts the episode, so the first op in the window sets the evidence's
 *   first event. Which op that is depends on the stored time, unknown here: the first op at each
 *   new time is kept, so only ops at the same millisecond as the one before go.
 * - `count`/`consecutive` resets: a reset after a reset of the same key (nothing of the slot's
 *   between) deletes what is already deleted.
 * - An op whose `when` names an op left out goes too: it applies only if that one fired.
 */
export function compact(ops: readonly StateOp[]): Compacted | undefined {
  let dropped: Uint8Array | undefined;
  const runs = new Map<string, Run>();
  const drop = (i: number) => {
    dropped ??= new Uint8Array(ops.length);
    dropped[i] = 1;
  };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.when !== undefined) {
      // Never part of a run: whether it applies depends on another op (left out below with it).
      runs.delete(op.slot);
      continue;
    }
    const rule = op.rule;
    if (rule.kind === 'distinct') {
      const run = runs.get(op.slot);
      if (
        run !== undefined &&
        !run.reset &&
        run.key === op.key &&
        run.value === op.value &&
        op.time >= run.time &&
        op.time - run.start < rule.window_s * 1000 &&
        rule.threshold >= 2
      ) {
        // The previous op is in the middle of the run now: it goes if it repeated its time.
        if (run.droppable) drop(run.last);
        run.droppable = op.time === run.time;
        run.last = i;
        run.time = op.time;
        continue;
      }
      runs.set(op.slot, {
        key: op.key,
        value: op.value,
        reset: false,
        start: op.time,
        last: i,
        time: op.time,
        droppable: false,
      });
    } else if (rule.kind === 'count' || rule.kind === 'consecutive') {
      const run = runs.get(op.slot);
      if (op.reset && run?.reset && run.key === op.key) {
        drop(i);
        continue;
      }
      runs.set(op.slot, {
        key: op.key,
        value: undefined,
        reset: op.reset === true,
        start: op.time,
        last: i,
        time: op.time,
        droppable: false,
      });
    }
  }
  if (dropped === undefined) return undefined;
  const kept: StateOp[] = [];
  const at: number[] = [];
  // Where each op went: a kept `when` is renumbered to the kept op it names.
  const moved = new Int32Array(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    // The op it follows may have been left out after this one was seen: only a later op of its
    // run says an op is in the middle.
    if (op.when !== undefined && dropped[op.when] === 1) dropped[i] = 1;
    if (dropped[i] === 1) continue;
    moved[i] = kept.length;
    kept.push(op.when === undefined ? op : { ...op, when: moved[op.when]! });
    at.push(i);
  }
  return { ops: kept, at };
}
