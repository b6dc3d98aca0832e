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

/** Options of {@link Store.retain}. */
export interface RetainOptions {
  /** Keep at least this many days of events: days before `now - days` go. @default 400 */
  days?: number;
  /** The time the retention is counted from (tests). @default new Date() */
  now?: Date | string;
  /** Stops between two partitions (at close): what was dropped so far is returned. */
  signal?: AbortSignal;
  /**
   * Called with each partition's report after its drop, before the drop commits: if it throws,
   * the drop is rolled back and `retain` rejects with that error. `storeSink` records the event
   * here, so that no day is dropped without its event (an auditor closed meanwhile refuses it).
   */
  onDrop?: (partition: DroppedPartition) => void;
}

/** The head of one hash chain in a dropped partition: its last event there. */
export interface ChainHead {
  id: string;
  seq: number;
  hash: string;
}

/** One day partition {@link Store.retain} dropped, as it was just before the drop. */
export interface DroppedPartition {
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  /** The partition's table, `authtrail_events_YYYYMMDD`. */
  partition: string;
  rows: number;
  /** The time of its first and last event (undefined for an empty partition). */
  first: string | undefined;
  last: string | undefined;
  /** Each hash chain's last event in it (anchors excluded), by chain id. */
  chainHeads: ChainHead[];
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
  /**
   * Drops every whole UTC day partition older than `days` (never today, never part of a day), one
   * by one under a lock so that instances retaining at once drop each once; returns what each held.
   * A failed run rejects with a typed error whose `dropped` lists what it dropped before failing.
   */
  retain(options?: RetainOptions): Promise<DroppedPartition[]>;
  close(): Promise<void>;
}
