/**
 * `@authtrail/store-postgres`: the authtrail store on PostgreSQL, for many app instances writing
 * to one trail. Pair it with `storeSink` from `@authtrail/store`.
 * @example
 * import { createAuditor } from '@authtrail/core';
 * import { storeSink } from '@authtrail/store';
 * import { postgresStore } from '@authtrail/store-postgres';
 *
 * const store = postgresStore({ connectionString: process.env.AUTHTRAIL_STORE });
 * const auditor = createAuditor({ sinks: [storeSink(store)] });
 * @packageDocumentation
 */
export { postgresStore, type PostgresStoreOptions } from './postgres-store.js';
