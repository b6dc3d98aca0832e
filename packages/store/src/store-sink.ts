import { checkOptions, shapeOf, type Sink, type SinkHost } from '@authtrail/core/sink';
import {
  DEFAULT_RETENTION_DAYS,
  parseDuration,
  retentionEvents,
  retentionFailureEvent,
} from './retention.js';
import type { DroppedPartition, Store } from './types.js';

/** Options of {@link storeSink}. */
export interface StoreSinkOptions {
  /** The sink's name in `stats().sinks` and error messages. @default 'store' */
  name?: string;
  /** Close the store when the auditor closes the sink. @default true */
  closeStore?: boolean;
  /**
   * Run the store's retention from this sink, off the request path: at start, then every `every`.
   * Each dropped day partition is recorded as an `audit.retention.success` event (with its rows and
   * chain heads) through the auditor, so it enters the same trail; a failed run is counted and
   * recorded as `audit.retention.failure`, never thrown. PCI DSS 10.5.1 asks for 365 days or more.
   * @default off; days 400, every '1d'
   */
  retention?: { days?: number; every?: string | number };
}

/** Counters of a store sink's retention runs. */
export interface RetentionStats {
  runs: number;
  /** Day partitions dropped. */
  dropped: number;
  /** Runs that failed (the store down, a lock held too long). */
  failed: number;
}

/** What {@link storeSink} returns: a sink, and its retention counters (undefined without `retention`). */
export interface StoreSink extends Sink {
  readonly retention: Readonly<RetentionStats> | undefined;
}

// setInterval takes at most 2^31 - 1 ms (24.8 days); a shorter period than a second is a mistake.
const EVERY_MIN = 1000;
const EVERY_MAX = 24 * 86_400_000;

/**
 * A sink that stores each batch in a {@link Store} with one idempotent insert. It never retries
 * itself: a failed insert rejects (with the store's typed error, e.g.
 * `ERR_AUTHTRAIL_STORE_UNAVAILABLE`), and the auditor's queue retries the batch with backoff, or
 * spills it under `delivery.overflow: 'spill'`. Because the insert skips events already stored,
 * a retry of a batch that was committed before its answer was lost, or a spill replayed after a
 * restart, never duplicates a row.
 * @example
 * const store = postgresStore({ connectionString: process.env.AUTHTRAIL_STORE });
 * const auditor = createAuditor({
 *   sinks: [storeSink(store)],
 *   delivery: { overflow: 'spill', spillDir: '/var/lib/app/authtrail-spill' },
 * });
 */
export function storeSink(store: Store, options: StoreSinkOptions = {}): StoreSink {
  const check = checkOptions('storeSink', options, 'store');
  const isStore =
    store !== null &&
    typeof store === 'object' &&
    typeof store.insert === 'function' &&
    typeof store.close === 'function';
  if (!isStore)
    check.argument(
      shapeOf(store),
      'pass a store, e.g. storeSink(postgresStore({ connectionString }))',
    );
  const name = check.o.name ?? 'store';
  if (typeof name !== 'string' || name.length === 0 || name.length > 64)
    check.issue('name', shapeOf(name), 'use a name of 1 to 64 characters');
  const closeStore = check.bool('closeStore', check.o.closeStore, true);
  const r = check.object(
    'retention',
    check.o.retention,
    "use { days: 400, every: '1d' } or leave it out",
  );
  const days = check.int('retention.days', r?.days, DEFAULT_RETENTION_DAYS, 1, 36_500);
  const everyMs = r?.every === undefined ? 86_400_000 : parseDuration(r.every);
  if (everyMs === undefined || everyMs < EVERY_MIN || everyMs > EVERY_MAX)
    check.issue(
      'retention.every',
      shapeOf(r?.every),
      "use a duration from '1s' to '24d' ('1d', '12h', '30m') or milliseconds",
    );
  if (r) check.known('retention', r, ['days', 'every']);
  if (check.o.retention !== undefined && isStore && typeof store.retain !== 'function')
    check.issue(
      'retention',
      'a store without retain()',
      'upgrade the store engine, or leave it out',
    );
  check.known('', check.o, ['name', 'closeStore', 'retention']);
  check.done();
  const retain = check.o.retention !== undefined;
  const stats: RetentionStats | undefined = retain ? { runs: 0, dropped: 0, failed: 0 } : undefined;
  let host: SinkHost | undefined;
  let timers: ReturnType<typeof setTimeout>[] = [];
  let running: Promise<void> | undefined;
  const stop = new AbortController();

  // Each day's events are recorded before its drop commits: once the auditor is closed, `record`
  // throws, the drop is rolled back, and no day leaves the store without its event.
  const onDrop = (partition: DroppedPartition) => {
    for (const event of retentionEvents([partition], days)) host!.record(event);
    stats!.dropped++;
  };
  // One run at a time per sink; several instances at once are serialised by the store's lock.
  const run = () => {
    if (running || stop.signal.aborted || !stats) return;
    running = (async () => {
      stats.runs++;
      try {
        await store.retain({ days, signal: stop.signal, onDrop });
      } catch (error) {
        stats.failed++;
        try {
          if (!stop.signal.aborted) host?.record(retentionFailureEvent(error, days));
        } catch {
          // The auditor closed meanwhile: nothing can be recorded any more, nor was dropped.
        }
      } finally {
        running = undefined;
      }
    })();
  };

  return {
    name: name as string,
    retention: stats,
    attach(h) {
      // One schedule per sink, through the first auditor attached: each run is recorded once.
      if (!retain || host) return;
      host = h;
      // At start too: an app deployed more often than `every` would otherwise never retain.
      timers = [setTimeout(run, 0).unref(), setInterval(run, everyMs!).unref()];
    },
    async write(batch) {
      await store.insert(batch.events);
    },
    // The auditor flushes before it closes: a run under way ends (and is recorded) first.
    async flush() {
      await running;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      stop.abort();
      await running;
      if (closeStore) await store.close();
    },
  };
}
