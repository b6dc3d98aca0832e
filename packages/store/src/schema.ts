import { AuthtrailError, type AuditEvent } from '@authtrail/schema';
import { rollupTableSql } from './rollup.js';

/**
 * The typed columns of `authtrail_events`, in insert order, with their PostgreSQL types. Query
 * filters (`compileQuery`) name these columns; `event` holds the whole native event as `jsonb`.
 * `session_id` is beyond the columns first planned: a session's trail needs an index as a flow's does.
 */
export const EVENT_COLUMNS = [
  ['id', 'uuid'],
  ['time', 'timestamptz'],
  ['type', 'text'],
  ['outcome', 'text'],
  ['reason', 'text'],
  ['user_id', 'text'],
  ['user_hash', 'text'],
  ['client_id', 'text'],
  ['source_ip', 'inet'],
  ['flow_id', 'text'],
  ['token_fp', 'text'],
  ['session_id', 'text'],
  ['service', 'text'],
  ['instance', 'text'],
  ['route', 'text'],
  ['status', 'int'],
  ['trace_id', 'text'],
  ['event', 'jsonb'],
] as const;

/** One migration of the store's schema; `sql(schema)` runs inside the migration's transaction. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  sql(schema: string): string;
}

/** `"name"`: a PostgreSQL identifier, quoted. Names reaching here were checked by {@link checkSchemaName}. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// Lower case, so the quoted name and an unquoted one a person types in psql are the same schema.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Whether a schema (namespace) name is usable: lower-case letters, digits and `_`, at most 63. */
export function checkSchemaName(name: unknown): name is string {
  return typeof name === 'string' && SCHEMA_NAME.test(name);
}

const PRESENTED = "(event #>> '{oauth,presented,fingerprint}')";
// Migration 1's indexes over columns most events leave empty, and what each indexes.
const SPARSE_INDEXES = [
  ['authtrail_events_user_hash', 'user_hash, time', 'user_hash'],
  ['authtrail_events_flow', 'flow_id', 'flow_id'],
  ['authtrail_events_token', 'token_fp', 'token_fp'],
  ['authtrail_events_session', 'session_id', 'session_id'],
  ['authtrail_events_presented', PRESENTED, PRESENTED],
] as const;

/** Every migration, in order. The schema version of a store is the highest one applied. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'events partitioned by day, typed columns, indexes',
    sql: (schema) => {
      const s = ident(schema);
      const columns = EVENT_COLUMNS.map(
        ([name, type]) =>
          `  ${name} ${type}${name === 'id' || name === 'time' || name === 'type' || name === 'event' ? ' NOT NULL' : ''}`,
      ).join(',\n');
      // The primary key is (id, time), not id: a unique constraint of a partitioned table must
      // hold its partition key. It is still the event's identity for idempotence: a retried or
      // spilled-and-replayed event is the same object sent again, with the same id and time, so it
      // lands in the same day's partition and meets its first copy there (ON CONFLICT DO NOTHING).
      // And the id is a UUIDv7 made from the same millisecond as `time` (core's newEvent), so two
      // events with one id and different times are not a re-send of one event.
      return `
CREATE TABLE ${s}.authtrail_events (
${columns},
  PRIMARY KEY (id, time)
) PARTITION BY RANGE (time);
-- BRIN: event time grows with insertion order, so block ranges summarise it in a few pages.
CREATE INDEX authtrail_events_time_brin ON ${s}.authtrail_events USING brin (time);
CREATE INDEX authtrail_events_user ON ${s}.authtrail_events (user_id, time);
CREATE INDEX authtrail_events_user_hash ON ${s}.authtrail_events (user_hash, time);
CREATE INDEX authtrail_events_flow ON ${s}.authtrail_events (flow_id);
CREATE INDEX authtrail_events_type ON ${s}.authtrail_events (type, outcome, time);
CREATE INDEX authtrail_events_token ON ${s}.authtrail_events (token_fp);
CREATE INDEX authtrail_events_session ON ${s}.authtrail_events (session_id);
-- A refresh names the token it spent in oauth.presented: part of that token's life.
CREATE INDEX authtrail_events_presented ON ${s}.authtrail_events
  ((event #>> '{oauth,presented,fingerprint}'));
`;
    },
  },
  {
    version: 2,
    description: 'hourly rollup of counts, kept by the insert; partial indexes on sparse columns',
    // Migration 1 stays as it was: stores exist at version 1. A 30-day histogram scanned every
    // event (725 ms at 1M); the rollup holds a row an hour and combination of a few columns.
    sql: (schema) => {
      const s = ident(schema);
      // Most events have no user hash, token, session or flow, and an API call no refreshed token:
      // indexing only the rows that have one spares each insert those index entries. A query
      // `flow_id = $1` implies flow_id IS NOT NULL, so the planner uses them as before.
      const partial = SPARSE_INDEXES.map(
        ([name, on, present]) =>
          `DROP INDEX ${s}.${name};\nCREATE INDEX ${name} ON ${s}.authtrail_events (${on}) WHERE ${present} IS NOT NULL;`,
      ).join('\n');
      return `${partial}\n${rollupTableSql(s)}`;
    },
  },
];

/** The schema version this code knows: a store at a higher one refuses to open. */
export const SCHEMA_VERSION = migrations[migrations.length - 1]!.version;

/** The advisory lock key (first half) the migrations and partition creation take: 'auth' in ASCII. */
export const LOCK_KEY = 0x61757468;

const DAY_MS = 86_400_000;

/** The UTC day (days since 1970-01-01) of an event time in milliseconds. */
export function dayOf(timeMs: number): number {
  return Math.floor(timeMs / DAY_MS);
}

/**
 * The statement creating the partition of one UTC day, if it is not there: `authtrail_events_YYYYMMDD`.
 * Run it under the advisory lock (LOCK_KEY + 1, day): two instances creating one day at once race
 * in the catalog even with IF NOT EXISTS.
 */
export function dayPartitionSql(schema: string, day: number): string {
  const from = new Date(day * DAY_MS).toISOString().slice(0, 10);
  const to = new Date((day + 1) * DAY_MS).toISOString().slice(0, 10);
  const name = `authtrail_events_${from.replace(/-/g, '')}`;
  return `CREATE TABLE IF NOT EXISTS ${ident(schema)}.${name} PARTITION OF ${ident(schema)}.authtrail_events FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')`;
}

/** The typed column values of one event, in {@link EVENT_COLUMNS} order but without `event`. */
export type EventRow = [
  id: string,
  time: string,
  type: string,
  outcome: string,
  reason: string | null,
  user_id: string | null,
  user_hash: string | null,
  client_id: string | null,
  source_ip: string | null,
  flow_id: string | null,
  token_fp: string | null,
  session_id: string | null,
  service: string | null,
  instance: string | null,
  route: string | null,
  status: number | null,
  trace_id: string | null,
];

/** An address PostgreSQL's `inet` takes, else null (a bad one would fail the whole batch forever). */
export function inetOrNull(ip: string | undefined): string | null {
  if (ip === undefined || ip.length > 64) return null;
  if (/^(?:\d{1,3}\.){3}\d{1,3}$/.test(ip))
    return ip.split('.').every((n) => Number(n) <= 255) ? ip : null;
  if (!ip.includes(':')) return null;
  // IPv6: the URL parser checks the syntax (no Node API, so this module runs in a browser too).
  try {
    new URL(`http://[${ip}]/`);
    return ip;
  } catch {
    return null;
  }
}

// PostgreSQL's text and jsonb take no NUL character, and jsonb no lone surrogate (which JSON.stringify
// writes as a \udXXX escape; a pair is written as itself). One such character in a hostile header
// would fail its whole batch on every retry: it becomes U+FFFD, as an invalid byte does in UTF-8.
const NUL = /\0/g;
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/** `text` with any NUL character replaced by U+FFFD; the same string when it has none. */
function storable(text: string): string;
function storable(text: string | undefined): string | null;
function storable(text: string | undefined): string | null {
  if (text === undefined) return null;
  return text.includes('\0') ? text.replace(NUL, '\ufffd') : text;
}

/**
 * The event as JSON text PostgreSQL's `jsonb` takes: `JSON.stringify`, with a NUL or a lone
 * surrogate replaced by U+FFFD (the event's other characters as they are).
 */
export function eventJson(event: AuditEvent): string {
  const json = JSON.stringify(event);
  return json.includes('\\u') ? json.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : json;
}

/** The typed columns of an event; throws `ERR_AUTHTRAIL_INVALID_EVENT` for one without a usable time. */
export function eventRow(event: AuditEvent): EventRow {
  const timeMs = Date.parse(event.time);
  if (!Number.isFinite(timeMs))
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_EVENT',
      `store: event ${String(event.id)} has no valid time; store events an auditor made`,
    );
  return [
    event.id,
    event.time,
    storable(event.type),
    event.outcome,
    storable(event.reason),
    storable(event.user?.id),
    storable(event.user?.hash),
    storable(event.client?.id),
    inetOrNull(event.source?.ip),
    storable(event.flow?.id),
    storable(event.oauth?.token?.fingerprint),
    storable(event.session?.id),
    storable(event.observer?.service),
    storable(event.observer?.instance),
    storable(event.http?.route),
    typeof event.http?.status === 'number' ? event.http.status : null,
    storable(event.trace?.id),
  ];
}
