import { checkOptions, shapeOf, type Sink } from '@authtrail/core/sink';
import type { Store } from './types.js';

/** Options of {@link storeSink}. */
export interface StoreSinkOptions {
  /** The sink's name in `stats().sinks` and error messages. @default 'store' */
  name?: string;
  /** Close the store when the auditor closes the sink. @default true */
  closeStore?: boolean;
}

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
export function storeSink(store: Store, options: StoreSinkOptions = {}): Sink {
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
  check.known('', check.o, ['name', 'closeStore']);
  check.done();
  return {
    name: name as string,
    async write(batch) {
      await store.insert(batch.events);
    },
    async close() {
      if (closeStore) await store.close();
    },
  };
}
