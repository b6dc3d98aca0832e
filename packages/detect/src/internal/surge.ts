import type { StateOp, StateResult, SurgeRule } from '../types.js';

/**
 * Buckets per window: the window moves in tenths of itself. A bucket is `window_s * 100` ms wide,
 * a whole number of ms, so that the Redis script cuts time at exactly the same places.
 */
export const SURGE_STEPS = 10;
/** The distinct share is measured on at most this many of a key's latest readings. */
export const SURGE_SAMPLE = 100;

/** A surge key's counts: buckets numbered `time / width`, ascending, oldest first. */
export interface SurgeBuckets {
  idx: number[];
  counts: number[];
  /** The first event of each bucket inside the window (id, time ms); '' and 0 once it is older. */
  ids: string[];
  firsts: number[];
}

/** What a surge reads and writes of a key's entry (the memory state's entry has these fields). */
export interface SurgeEntry {
  buckets: SurgeBuckets | undefined;
  /** The latest `min(threshold, 100)` values, oldest first (only with `distinct`). */
  values: string[];
  firing: boolean;
  /** The last time (ms) the condition held. */
  mark: number;
  /** The latest time seen. */
  now: number;
}

/**
 * Counts `op` in its bucket and tells whether the surge holds: at least `threshold` events in the
 * window, at least `factor` times the baseline's rate, and (with `distinct`) enough distinct
 * values among the latest readings. Fires once per episode; the episode ends once the condition
 * has not held for a whole window. The Redis script's `surge` is this function, step for step.
 */
export function applySurge(e: SurgeEntry, rule: SurgeRule, op: StateOp): StateResult {
  const width = rule.window_s * 100;
  const span = Math.ceil((rule.baseline_s * SURGE_STEPS) / rule.window_s);
  const start = Math.floor(e.now / width) - SURGE_STEPS + 1;
  const oldest = start - span;
  const b = (e.buckets ??= { idx: [], counts: [], ids: [], firsts: [] });
  let n = 0;
  while (n < b.idx.length && b.idx[n]! < oldest) n++;
  if (n > 0) {
    b.idx.splice(0, n);
    b.counts.splice(0, n);
    b.ids.splice(0, n);
    b.firsts.splice(0, n);
  }
  if (b.idx.length === 0) {
    // Nothing left of the window or its baseline: the key starts afresh, as an expired Redis key.
    e.values = [];
    e.firing = false;
  }
  const at = Math.floor(op.time / width);
  if (at >= oldest) {
    // Usually the last bucket; a late event walks back to its own.
    let k = b.idx.length - 1;
    while (k >= 0 && b.idx[k]! > at) k--;
    if (k >= 0 && b.idx[k] === at) {
      b.counts[k]!++;
      if (at >= start && op.time < b.firsts[k]!) {
        b.ids[k] = op.id;
        b.firsts[k] = op.time;
      }
    } else {
      const inside = at >= start;
      b.idx.splice(k + 1, 0, at);
      b.counts.splice(k + 1, 0, 1);
      b.ids.splice(k + 1, 0, inside ? op.id : '');
      b.firsts.splice(k + 1, 0, inside ? op.time : 0);
    }
  }
  const share = rule.distinct ?? 0;
  if (share > 0) {
    e.values.push(op.value ?? '');
    if (e.values.length > Math.min(rule.threshold, SURGE_SAMPLE)) e.values.shift();
  }
  let count = 0;
  let base = 0;
  let first = '';
  let firstTime = 0;
  for (let k = 0; k < b.idx.length; k++) {
    if (b.idx[k]! >= start) {
      count += b.counts[k]!;
      if (first === '') {
        first = b.ids[k]!;
        firstTime = b.firsts[k]!;
      }
    } else {
      base += b.counts[k]!;
      // Out of the window: its first event can no longer be the evidence's.
      b.ids[k] = '';
      b.firsts[k] = 0;
    }
  }
  // Quiet for a whole window: the episode is over, a new surge is a new detection.
  if (e.firing && e.now - e.mark >= rule.window_s * 1000) e.firing = false;
  // The baseline's rate scaled to the window: `span` buckets against the window's ten.
  const need = Math.max(rule.threshold, Math.ceil((rule.factor * base * SURGE_STEPS) / span));
  let holds = count >= need;
  if (holds && share > 0) holds = distinctOf(e.values) >= share * e.values.length;
  if (!holds) return { fired: false, count };
  e.mark = e.now;
  if (e.firing) return { fired: false, count };
  e.firing = true;
  return { fired: true, count, first, firstTime, threshold: need };
}

function distinctOf(values: readonly string[]): number {
  return new Set(values).size;
}
