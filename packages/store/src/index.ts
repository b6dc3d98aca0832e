/**
 * `@authtrail/store`: the store interface every engine implements, the SQL schema as versioned
 * migrations, `storeSink(store)`, and the query language (`compileQuery`) that turns
 * `type:authn.login.* outcome:failure user:alice` into a parameterised filter.
 *
 * Engines: `@authtrail/store-postgres` (many instances), an embedded one for one machine.
 * @example
 * import { createAuditor } from '@authtrail/core';
 * import { storeSink } from '@authtrail/store';
 * import { postgresStore } from '@authtrail/store-postgres';
 *
 * const auditor = createAuditor({ sinks: [storeSink(postgresStore({ connectionString }))] });
 * @packageDocumentation
 */
export type {
  CountBucket,
  ChainHead,
  CountOptions,
  DroppedPartition,
  EventPage,
  InsertResult,
  MigrationResult,
  QueryOptions,
  RetainOptions,
  Store,
  StoreFilter,
  TimeRange,
  TopEntry,
  TopOptions,
  Trail,
} from './types.js';
export {
  EVENT_COLUMNS,
  LOCK_KEY,
  SCHEMA_VERSION,
  checkSchemaName,
  dayOf,
  dayPartitionSql,
  eventJson,
  eventRow,
  ident,
  inetOrNull,
  migrations,
  type EventRow,
  type Migration,
} from './schema.js';
export {
  ROLLUP_COLUMNS,
  rollupCovers,
  rollupSource,
  rollupUpsertSql,
  wholeHours,
} from './rollup.js';
export {
  storeSink,
  type RetentionStats,
  type StoreSink,
  type StoreSinkOptions,
} from './store-sink.js';
export {
  DEFAULT_RETENTION_DAYS,
  parseDuration,
  retentionEvents,
  retentionFailureEvent,
} from './retention.js';
export { parseTime } from './time.js';
export * from './query/index.js';
