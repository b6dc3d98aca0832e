/**
 * `@authtrail/store-embedded`: the authtrail store for one machine, with no server: PostgreSQL in
 * WebAssembly (PGlite) persisted in a directory, held by one process at a time. Pair it with
 * `storeSink` from `@authtrail/store`; `authtrail query` reads it (`.authtrail` by default).
 * @example
 * import { createAuditor } from '@authtrail/core';
 * import { storeSink } from '@authtrail/store';
 * import { embeddedStore } from '@authtrail/store-embedded';
 *
 * const auditor = createAuditor({ sinks: [storeSink(embeddedStore())] });
 * @packageDocumentation
 */
export { embeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
