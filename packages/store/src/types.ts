import type { AuditEvent } from '@authtrail/schema';
import type { BucketInterval, QueryField } from './query/types.js';

/**
 * A filter over the typed columns of {@link EVENT_COLUMNS}: an SQL boolean expression whose values
 * are placeholders `$1..$n` into `params` (never concatenated into the text). `compileQuery(text)`
 * makes one from the query language (with the default `firstParam`, 1); an engine renumbers the
 * placeholders after its own.
 */
export interface StoreFilter {
  readonly where: string;
  readonly params: readonly unknown[];
}

/** A time range over event time: `from` included, `to` excluded; either may be left open. */
export interface TimeRange {
  /** Date, or an ISO-8601 string. */
  from?: Date | string;
  /** Date, or an ISO-8601 string. */
  to?: Date | string;
}

/** Options of {@link Store.query}. */
export interface QueryOptions extends TimeRange {
  /** Which events; all of them when absent. */
  where?: StoreFilter;
  /** Events in one page, 1 to 10,000. @default 100 */
  limit?: number;
  /** `'desc'`: newest first; `'asc'`: oldest first. @default 'desc' */
  order?: 'asc' | 'desc';
  /** The `next` cursor of the previous page: the page after it (keyset paging on time and id). */
  after?: string;
}

/** One page of events, and the cursor of the next page (undefined on the last one). */
export interface EventPage {
  events: AuditEvent[];
  next: string | undefined;
}

/** Options of {@link Store.count}. */
export interface CountOptions extends TimeRange {
  where?: StoreFilter;
  /** The width of a bucket (UTC-aligned): `'1m'`, `'5m'`, `'15m'`, `'1h'`, `'1d'`. */
  interval: BucketInterval;
  /** Split each bucket by this field's value (a field of the query language: `outcome`, `user`, `ip` ...). */
  by?: QueryField;
}

/** One bucket of {@link Store.count}: its start (ISO-8601), the split's value (null without `by`, or for an empty value), the events in it. */
export interface CountBucket {
  start: string;
  key: string | null;
  count: number;
}

/** Options of {@link Store.top}. */
export interface TopOptions extends TimeRange {
  where?: StoreFilter;
  /** A field of the query language: `user`, `client`, `ip`, `reason` ... */
  field: QueryField;
  /** How many values, 1 to 1,000. @default 10 */
  limit?: number;
}

/** One value of {@link Store.top} and the events that have it. */
export interface TopEntry {
  key: string | null;
  count: number;
}

/**
 * What {@link Store.trail} found for an id: the event it names (if it is an event id), and every
 * event of its login flow (`flow.id`), of its token's life (`oauth.token` or `oauth.presented`
 * fingerprint: issued, used, refreshed, revoked, reused) and of its session (`session.id`), each in
 * time order, across services and instances.
 */
export interface Trail {
  event: AuditEvent | undefined;
  flow: AuditEvent[];
  token: AuditEvent[];
  session: AuditEvent[];
}

/** What {@link Store.insert} did: events newly stored, and those it already had (same id and time). */
export interface InsertResult {
  inserted: number;
  duplicates: number;
}

/** What {@link Store.migrate} found and did. */
export interface MigrationResult {
  /** The schema version now in the store. */
  version: number;
  /** The versions this call applied (empty when another instance, or an earlier start, did). */
  applied: number[];
}

/**
 * The store interface every engine (PostgreSQL, embedded) implements, over one schema
 * ({@link migrations}). Each method migrates the store first if this store has not yet.
 */
export interface Store {
  /** The engine's name: `'postgres'`, `'embedded'`. */
  readonly engine: string;
  /** Applies the migrations this store lacks, under a lock; safe when several instances start at once. */
  migrate(): Promise<MigrationResult>;
  /**
   * Stores a batch in one statement. Idempotent: an event already stored (same id and time, as a
   * retried or replayed event is) is skipped, so retries and spill replays never duplicate a row.
   */
  insert(events: readonly AuditEvent[]): Promise<InsertResult>;
  /** A page of events matching a filter in a time range, newest first by default. */
  query(options?: QueryOptions): Promise<EventPage>;
  /** Events per time bucket, optionally split by a column, in bucket then key order. */
  count(options: CountOptions): Promise<CountBucket[]>;
  /** The `limit` most frequent values of a column, most frequent first. */
  top(options: TopOptions): Promise<TopEntry[]>;
  /** Every event of the flow, token life and session of an event id, flow id, token fingerprint or session id. */
  trail(id: string, range?: TimeRange): Promise<Trail>;
  close(): Promise<void>;
}
