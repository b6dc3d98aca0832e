import { checkOptions } from '@authtrail/core/sink';
import { applySurge, type SurgeBuckets } from './internal/surge.js';
import type { DetectorState, Held, Silence, StateOp, StateResult } from './types.js';

/** Options of {@link memoryState}. */
export interface MemoryStateOptions {
  /**
   * Keys kept per detector rule. A new key beyond it evicts the one least recently updated (counted
   * in `stats().evicted`): an attack spread over more keys than this can be missed, never the
   * process's memory exhausted.
   * @default 100000
   */
  maxKeys?: number;
}

/** What one key holds: at most `threshold` events (count, consecutive, distinct), or O(1). */
interface Entry {
  /**
   * Times (ms) of the events counted, oldest first (count, consecutive; distinct: of each value's
   * last event, with the value at the same index in `values`). Numbers only: 8 bytes an event.
   */
  times: number[];
  values: string[];
  /** The episode: fired and not cleared since. */
  firing: boolean;
  /** The latest time seen: windows never move back for an event that arrives late. */
  now: number;
  /** Bucket: its level. */
  level: number;
  /** Bucket: the time of the last pour; sequence: the time of step `a`. */
  mark: number;
  /**
   * The first event of the evidence: of the episode (the first event since the key's window was
   * last empty, or its bucket drained), or a sequence's step `a`.
   */
  firstId: string;
  firstTime: number;
  /** Surge: its buckets (the distinct sample is in `values`). */
  buckets: SurgeBuckets | undefined;
}

const NOT_FIRED: StateResult = Object.freeze({ fired: false, count: 0 });
/** A silence is remembered this long after it began; then its key is forgotten (and its alert resolves). */
export const SILENCE_KEPT_MS = 86_400_000;

/** A `silence` rule's key: its latest sighting, and whether its silence was handed out. */
interface Watched {
  time: number;
  id: string;
  quiet_s: number;
  silent: boolean;
}

/**
 * Detector state in this process's memory, bounded: per detector rule at most `maxKeys` keys,
 * each holding at most `threshold` event times (count, consecutive), `threshold` distinct values
 * and their times (distinct), `10 + 10 * baseline_s / window_s` buckets and `min(threshold, 100)`
 * values (surge), or a few numbers (sequence, bucket), and the first event's id. Instances do not
 * share it: each counts what it sees.
 * @example
 * detectors({ state: memoryState({ maxKeys: 20_000 }) });
 */
export function memoryState(options: MemoryStateOptions = {}): DetectorState {
  const check = checkOptions('memoryState', options, '');
  const maxKeys = check.int('maxKeys', check.o.maxKeys, 100_000, 1, 100_000_000);
  check.known('', check.o, ['maxKeys']);
  check.done();

  const slots = new Map<string, Map<string, Entry>>();
  const watched = new Map<string, Map<string, Watched>>();
  let evicted = 0;

  /** The key's entry, made most recently used; created (evicting the least recent) if asked. */
  function entry(op: StateOp, create: boolean): Entry | undefined {
    let slot = slots.get(op.slot);
    if (!slot) slots.set(op.slot, (slot = new Map()));
    const found = slot.get(op.key);
    if (found) {
      slot.delete(op.key);
      slot.set(op.key, found);
      found.now = Math.max(found.now, op.time);
      return found;
    }
    if (!create) return undefined;
    if (slot.size >= maxKeys) evict(slot);
    const made: Entry = {
      times: [],
      values: [],
      firing: false,
      now: op.time,
      level: 0,
      mark: op.time,
      firstId: op.id,
      firstTime: op.time,
      buckets: undefined,
    };
    slot.set(op.key, made);
    return made;
  }

  /**
   * Evicts the least recently used keys: 1/64 of the table at once, since reaching the oldest key
   * of a Map means stepping over the slots its deletions left, once per batch of evictions rather
   * than once per new key (which made a full table 40 times slower).
   */
  function evict<T>(slot: Map<string, T>): void {
    let n = Math.max(1, Math.ceil(maxKeys / 64));
    for (const key of slot.keys()) {
      slot.delete(key);
      evicted++;
      if (--n === 0) break;
    }
  }

  /** An event in an empty window starts an episode: its evidence starts there. */
  function begin(e: Entry, op: StateOp): void {
    if (e.times.length > 0) return;
    e.firing = false;
    e.firstId = op.id;
    e.firstTime = op.time;
  }

  /** Adds `item` at the end of `list`; an empty list is made anew at one item's size. */
  function add<T>(list: T[], item: T): T[] {
    if (list.length === 0) return [item];
    list.push(item);
    return list;
  }

  /** Drops what a key counts from index 0 up to (not including) `end`. */
  function drop(e: Entry, end: number): void {
    if (end <= 0) return;
    e.times.splice(0, end);
    if (e.values.length > 0) e.values.splice(0, end);
  }

  /** Index of the first event still in the window: those at or before `since` are out. */
  function kept(e: Entry, since: number): number {
    let i = 0;
    while (i < e.times.length && e.times[i]! <= since) i++;
    return i;
  }

  function forget(op: StateOp): void {
    slots.get(op.slot)?.delete(op.key);
  }

  /**
   * Fires at the first count at or over `threshold` in an episode. The episode ends when its window
   * has emptied (see `begin`): a steady attack above the threshold is one detection, not one per
   * event as old events slide out and new ones come in.
   */
  function episode(e: Entry, count: number, threshold: number): StateResult {
    if (count < threshold || e.firing) return { fired: false, count };
    e.firing = true;
    return { fired: true, count, first: e.firstId, firstTime: e.firstTime };
  }

  function applyOne(
    op: StateOp,
    rule: StateOp['rule'],
    cause: StateResult | undefined,
  ): StateResult {
    switch (rule.kind) {
      case 'count':
      case 'consecutive': {
        if (op.reset) {
          // A success: the failures before it no longer count, and the episode is over.
          forget(op);
          return NOT_FIRED;
        }
        const e = entry(op, true)!;
        // Nothing left in the window: the episode is over, and this event starts the next.
        drop(e, kept(e, e.now - rule.window_s * 1000));
        begin(e, op);
        e.times = add(e.times, op.time);
        // At most `threshold` kept: more cannot change whether it fires.
        drop(e, e.times.length - rule.threshold);
        return episode(e, e.times.length, rule.threshold);
      }
      case 'distinct': {
        const e = entry(op, true)!;
        // Oldest first, by each value's last event: the ones out of the window lead.
        drop(e, kept(e, e.now - rule.window_s * 1000));
        begin(e, op);
        const value = op.value ?? '';
        const seen = e.values.indexOf(value);
        if (seen !== -1) {
          e.times.splice(seen, 1);
          e.values.splice(seen, 1);
        }
        e.times = add(e.times, op.time);
        e.values = add(e.values, value);
        drop(e, e.times.length - rule.threshold);
        return episode(e, e.values.length, rule.threshold);
      }
      case 'sequence': {
        if (op.step === 'a') {
          const waiting = rule.repeat ? entry(op, false) : undefined;
          if (waiting && op.time - waiting.mark <= rule.within_s * 1000) {
            // Repeat: a token revoked after it was rotated is remembered longer, from the rotation.
            waiting.mark = Math.max(waiting.mark, op.time);
            return { fired: false, count: waiting.level };
          }
          const e = entry(op, true)!;
          e.mark = op.time;
          e.level = 1;
          // Taken from another detector's decision: the evidence starts with that one's.
          e.firstId = cause?.first ?? op.id;
          e.firstTime = cause?.firstTime ?? op.time;
          return { fired: false, count: 1 };
        }
        const e = entry(op, false);
        if (!e) return NOT_FIRED;
        const gap = op.time - e.mark;
        // Step `a` is used once: a second success after one brute force is not a second takeover.
        // With `repeat` it stays until its time is up: every use of a superseded token counts.
        if (!rule.repeat || gap > rule.within_s * 1000) forget(op);
        if (gap < 0 || gap > rule.within_s * 1000) return NOT_FIRED;
        e.level = rule.repeat ? e.level + 1 : 2;
        return { fired: true, count: e.level, first: e.firstId, firstTime: e.firstTime };
      }
      case 'bucket': {
        const e = entry(op, true)!;
        e.level = Math.max(0, e.level - Math.max(0, op.time - e.mark) / (rule.leak_s * 1000));
        e.mark = Math.max(e.mark, op.time);
        if (e.level === 0) {
          // Drained: the episode is over, the evidence starts again with this event.
          e.firing = false;
          e.firstId = op.id;
          e.firstTime = op.time;
        }
        // Never fuller than one over capacity: a flood drains in (capacity + 1) * leak_s.
        e.level = Math.min(e.level + 1, rule.capacity + 1);
        const count = Math.ceil(e.level - 1e-9);
        if (e.level <= rule.capacity) return { fired: false, count };
        const fired = !e.firing;
        e.firing = true;
        return fired
          ? { fired, count, first: e.firstId, firstTime: e.firstTime }
          : { fired, count };
      }
      case 'surge':
        return applySurge(entry(op, true)!, rule, op);
    }
  }

  return {
    apply(ops) {
      const results: StateResult[] = new Array<StateResult>(ops.length);
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const cause = op.when === undefined ? undefined : results[op.when];
        results[i] =
          op.when !== undefined && !cause?.fired ? NOT_FIRED : applyOne(op, op.rule, cause);
      }
      return results;
    },
    stats() {
      let keys = 0;
      for (const slot of slots.values()) keys += slot.size;
      for (const slot of watched.values()) keys += slot.size;
      return { keys, evicted };
    },
    watch(sightings) {
      for (const s of sightings) {
        let slot = watched.get(s.slot);
        if (!slot) watched.set(s.slot, (slot = new Map()));
        const w = slot.get(s.key);
        // A late sighting (an older file read after a newer one) never moves a key back.
        if (w && w.time > s.time) continue;
        slot.delete(s.key);
        if (s.reset) continue;
        if (!w && slot.size >= maxKeys) evict(slot);
        slot.set(s.key, { time: s.time, id: s.id, quiet_s: s.quiet_s, silent: false });
      }
    },
    silent(names, now, held) {
      // Asked first: a key seen again and silent again since the last tick is over, then new.
      const over = held.filter((h) => watched.get(h.slot)?.get(h.key)?.silent !== true);
      const silent: Silence[] = [];
      for (const name of names) {
        const slot = watched.get(name);
        if (!slot) continue;
        for (const [key, w] of slot) {
          const due = w.time + w.quiet_s * 1000;
          if (now < due) continue;
          if (!w.silent) {
            w.silent = true;
            silent.push({ slot: name, key, id: w.id, time: w.time, quiet_s: w.quiet_s });
          } else if (now >= due + SILENCE_KEPT_MS) slot.delete(key);
        }
      }
      return { silent, over: over as Held[] };
    },
  };
}
