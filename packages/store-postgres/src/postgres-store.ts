import { AuthtrailError, checkOptions, shapeOf, type AuditEvent } from '@authtrail/core/sink';
import {
  EVENT_COLUMNS,
  bucketExpr,
  checkSchemaName,
  decodeCursor,
  encodeCursor,
  groupField,
  dayOf,
  eventJson,
  eventRow,
  ident,
  type EventRow,
  rollupUpsertSql,
  ROLLUP_COLUMNS,
  type CountBucket,
  type EventPage,
  type InsertResult,
  type MigrationResult,
  type Store,
  type TopEntry,
  type Trail,
} from '@authtrail/store';
import pg from 'pg';
import {
  copyInsert,
  insertOrder,
  rollupFrom,
  storedTimeMs,
  type CopySql,
  type Rows,
} from './copy.js';
import { storeError, targetOf } from './errors.js';
import { retainPartitions } from './retention.js';
import { checkSchema, createPartitions, migrateSchema } from './setup.js';
import { Params, conditions, groupCounts, keyOrder, limitOf, rowId, whereClause } from './sql.js';
import { readTrail } from './trail.js';

/** Options of {@link postgresStore}: a connection string or a pool of your own. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`. Its password never appears in an error. */
  connectionString?: string;
  /** A `pg.Pool` of your own (then `close()` leaves it open). */
  pool?: pg.Pool;
  /** The PostgreSQL schema (namespace) holding the tables, created if absent. @default 'authtrail' */
  schema?: string;
  /** Connections of the pool made from `connectionString`. @default 4 */
  max?: number;
  /** How long a connection attempt may take before the call fails as unavailable. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Connections one insert of 256 events or more is spread over, its parts sent at once: the
   * server works on them on as many cores. Worth it when the server has idle cores; on a busy
   * 2-core machine it measured no faster and cost 8% more server CPU, hence 1. At most `max`.
   * @default 1
   */
  insertConnections?: number;
  /**
   * Insert each batch with `COPY ... FROM STDIN` and add it to the hourly rollup in the same
   * transaction; a batch holding an event already stored (a retry, a replayed spill) goes through
   * `INSERT ... ON CONFLICT DO NOTHING` instead, so nothing is stored or counted twice. `false`
   * sends every batch as that INSERT: for a pool whose connections cannot run COPY (the embedded
   * engine's adapter passes it).
   * @default true
   */
  copy?: boolean;
  /**
   * For readers (the CLI, the console): never create or migrate the schema, and refuse writes. A
   * missing schema is `ERR_AUTHTRAIL_STORE_NOT_FOUND`, an older or newer one `ERR_AUTHTRAIL_STORE_VERSION`.
   * @default false
   */
  readOnly?: boolean;
}

// The insert sends one array a typed column, whatever the batch size: 18 parameters, one
// statement, one round trip (a VALUES list would need 18 parameters an event, over the 65,535
// limit past 3,640). The events go as one JSON array, zipped with the columns by ROWS FROM: as a
// jsonb[] array literal pg escaped every quote of every event, 40% of the insert's time in Node.
const INSERT_COLUMNS = EVENT_COLUMNS.map(([name]) => name).join(', ');
const ZIPPED = EVENT_COLUMNS.map(([name, type], i) =>
  name === 'event' ? `jsonb_array_elements($${i + 1}::jsonb)` : `unnest($${i + 1}::${type}[])`,
).join(', ');

// A batch this large or larger is split over `insertConnections` connections; a smaller one
// costs more in round trips than it gains.
const SPLIT_MIN = 256;

// What the rollup needs of each inserted event.
const ROLLUP_INPUT = ['time', ...ROLLUP_COLUMNS.map(([name]) => name)].join(', ');

// A group's value as text: pg gives an inet as '10.0.0.1' and a status as a number.
function keyOf(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/**
 * The store on PostgreSQL (14 or later; tested on 15): events in `<schema>.authtrail_events`,
 * partitioned by day of event time, partitions created as batches reach new days. The schema is
 * migrated on first use, under an advisory lock, so several instances can start at once.
 * @example
 * const store = postgresStore({ connectionString: 'postgres://authtrail@db:5432/audit' });
 * const page = await store.query({ where: compileQuery('outcome:failure user:alice'), limit: 50 });
 */
export function postgresStore(options: PostgresStoreOptions): Store {
  const check = checkOptions('postgresStore', options, '');
  const { connectionString, pool: given } = check.o;
  if ((connectionString === undefined) === (given === undefined))
    check.issue(
      'connectionString',
      connectionString === undefined ? 'neither it nor pool' : 'both it and pool',
      'pass one of connectionString (postgres://user:password@host:5432/db) or pool',
    );
  else if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' || connectionString === '')
  )
    check.issue(
      'connectionString',
      shapeOf(connectionString),
      'use postgres://user:password@host:5432/database',
    );
  else if (
    given !== undefined &&
    (given === null || typeof (given as pg.Pool).connect !== 'function')
  )
    check.issue('pool', shapeOf(given), 'pass a pg.Pool');
  const schema = check.o.schema ?? 'authtrail';
  if (!checkSchemaName(schema))
    check.issue(
      'schema',
      shapeOf(schema),
      'use lower-case letters, digits and _ (at most 63), starting with a letter or _',
    );
  const max = check.int('max', check.o.max, 4, 1, 100);
  const connectTimeoutMs = check.int(
    'connectTimeoutMs',
    check.o.connectTimeoutMs,
    5000,
    100,
    600_000,
  );
  const readOnly = check.bool('readOnly', check.o.readOnly, false);
  const copy = check.bool('copy', check.o.copy, true);
  const insertConnections = check.int(
    'insertConnections',
    check.o.insertConnections,
    1,
    1,
    given === undefined ? max : 16,
  );
  check.known('', check.o, [
    'connectionString',
    'pool',
    'schema',
    'max',
    'connectTimeoutMs',
    'insertConnections',
    'copy',
    'readOnly',
  ]);
  check.done();

  const target = targetOf(typeof connectionString === 'string' ? connectionString : undefined);
  const pool =
    (given as pg.Pool | undefined) ??
    new pg.Pool({
      connectionString: connectionString as string,
      max,
      connectionTimeoutMillis: connectTimeoutMs,
    });
  // An idle connection the server closes (a restart) is reported here; unheard, it would crash the
  // app. The pool drops that connection and the next call opens a new one.
  if (given === undefined) pool.on('error', () => {});
  const s = ident(schema as string);
  const table = `${s}.authtrail_events`;
  // The INSERT way in (`copy: false`, and a batch COPY refused for holding a stored event): one
  // statement inserts the events and adds those it inserted to the hourly rollup: a duplicate
  // (a retry, a replayed spill) is not RETURNed, so it counts nothing, and a failed insert counts
  // nothing either. Rows go in day (partition) and id order, as the COPY way sends them: two
  // inserts sharing events (a batch replayed while its first try is still running) then wait for
  // each other on the first shared one instead of deadlocking, and the rollup's rows are locked in
  // key order after all of them.
  const insertSql = `WITH inserted AS (INSERT INTO ${table} (${INSERT_COLUMNS}) SELECT * FROM ROWS FROM (${ZIPPED}) AS r (${INSERT_COLUMNS}) ORDER BY ${insertOrder} ON CONFLICT DO NOTHING RETURNING ${ROLLUP_INPUT}),
counted AS (${rollupUpsertSql(s, 'inserted')})
SELECT count(*)::int AS n FROM inserted`;
  // The COPY way in: the rows, then the batch's counts (made in Node) added to the rollup.
  const copySql: CopySql = {
    copy: `COPY ${table} (${INSERT_COLUMNS}) FROM STDIN`,
    rollup: rollupUpsertSql(s, rollupFrom, 'sum(n)'),
    insert: insertSql,
  };
  const days = new Set<number>();
  const setup = { pool, schema: schema as string, target, days };
  let opened: Promise<MigrationResult> | undefined;
  let closed = false;

  async function run<R extends pg.QueryResultRow>(doing: string, sql: string, values?: unknown[]) {
    try {
      return await pool.query<R>(sql, values);
    } catch (error) {
      throw storeError(error, target, doing);
    }
  }

  /** Migrates once; a failure (the server down at start) is retried by the next call. */
  function ready(): Promise<MigrationResult> {
    if (closed)
      return Promise.reject(
        new AuthtrailError('ERR_AUTHTRAIL_CLOSED', 'postgresStore: used after close()'),
      );
    opened ??= (readOnly ? checkSchema(setup) : migrateSchema(setup)).catch((error: unknown) => {
      opened = undefined;
      throw error;
    });
    return opened;
  }

  /** Writes (insert, retain, migrate) on a store opened read-only. */
  function refuseWrite(doing: string): Promise<never> {
    return Promise.reject(
      new AuthtrailError(
        'ERR_AUTHTRAIL_STORE_FAILED',
        `postgresStore: opened with readOnly, it does not ${doing}; open it without readOnly to write`,
      ),
    );
  }

  /** The typed columns (`id` as stored), JSON text and times of `events`; their days go into `touched`. */
  function rowsOf(events: readonly AuditEvent[], touched: Set<number>): Rows {
    const rows = new Array<EventRow>(events.length);
    const json = new Array<string>(events.length);
    const times = new Array<number>(events.length);
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const row = eventRow(event);
      row[0] = rowId(row[0]);
      rows[i] = row;
      json[i] = eventJson(event);
      times[i] = storedTimeMs(row[1]);
      touched.add(dayOf(times[i]!));
    }
    return { rows, json, times };
  }

  /** The INSERT statement's values: an array a typed column, and the events as one JSON array. */
  function insertValues({ rows, json }: Rows): unknown[] {
    const columns: unknown[] = EVENT_COLUMNS.map(() => new Array<unknown>(rows.length));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      for (let c = 0; c < row.length; c++) (columns[c] as unknown[])[i] = row[c];
    }
    columns[EVENT_COLUMNS.length - 1] = `[${json.join(',')}]`;
    return columns;
  }

  /** Inserts one part, on one connection: how many of its events were stored. */
  async function insertPart(part: Rows): Promise<number> {
    if (copy) return copyInsert(pool, copySql, part, insertValues);
    return (await pool.query<{ n: number }>(insertSql, insertValues(part))).rows[0]!.n;
  }

  async function insert(events: readonly AuditEvent[]): Promise<InsertResult> {
    if (readOnly) return refuseWrite('insert events');
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    await ready();
    // A large batch goes as `insertConnections` parts at once, each on its own connection:
    // the server parses and indexes them on as many cores while this process builds the next.
    // Each part is idempotent on its own; if one fails the call rejects, the queue retries the
    // whole batch, and the parts that had committed are skipped as duplicates.
    const parts = events.length >= SPLIT_MIN ? insertConnections : 1;
    const size = Math.ceil(events.length / parts);
    const touched = new Set<number>();
    const parted: Rows[] = [];
    for (let i = 0; i < events.length; i += size)
      parted.push(rowsOf(events.slice(i, i + size), touched));
    const needed = [...touched].filter((day) => !days.has(day)).sort((a, b) => a - b);
    if (needed.length > 0) await createPartitions(setup, needed);
    const results = await Promise.allSettled(parted.map(insertPart));
    let inserted = 0;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        inserted += result.value;
        continue;
      }
      const error = result.reason as { code?: unknown };
      // 23514: no partition for a row. A partition this process saw was dropped (retention, by
      // hand): forget what it knew, create them again, and let the queue's retry insert the batch.
      if (error.code === '23514') for (const day of touched) days.delete(day);
      throw storeError(error, target, `insert ${events.length} events`);
    }
    return { inserted, duplicates: events.length - inserted };
  }

  return {
    engine: 'postgres',
    migrate: ready,
    insert,

    async query(options = {}): Promise<EventPage> {
      await ready();
      const limit = limitOf(options.limit, 100, 10_000);
      const order = options.order ?? 'desc';
      if (order !== 'asc' && order !== 'desc')
        throw new AuthtrailError(
          'ERR_AUTHTRAIL_INVALID_QUERY',
          `postgresStore: order ${JSON.stringify(order)}; use 'asc' or 'desc'`,
        );
      const params = new Params();
      const parts = conditions(params, options);
      if (options.after !== undefined) {
        const { time, id } = decodeCursor(options.after);
        parts.push(
          `(time, id) ${order === 'desc' ? '<' : '>'} (${params.add(time)}::timestamptz, ${params.add(id)}::uuid)`,
        );
      }
      const dir = order === 'desc' ? 'DESC' : 'ASC';
      const { rows } = await run<{ event: AuditEvent; time: Date; id: string }>(
        'query events',
        `SELECT event, time, id::text AS id FROM ${table} ${whereClause(parts)} ORDER BY time ${dir}, id ${dir} LIMIT ${params.add(limit + 1)}`,
        params.values,
      );
      // One row past the page says whether there is a next page, without a count.
      const more = rows.length > limit;
      if (more) rows.length = limit;
      const last = rows[rows.length - 1];
      return {
        events: rows.map((r) => r.event),
        next: more && last ? encodeCursor({ time: last.time, id: last.id }) : undefined,
      };
    },

    async count(options): Promise<CountBucket[]> {
      await ready();
      const params = new Params();
      const bucket = bucketExpr(options?.interval);
      const key = options.by === undefined ? 'NULL' : groupField(options.by);
      const groups = groupCounts(params, table, s, [bucket, key], options);
      const { rows } = await run<{ start: Date; key: unknown; count: number }>(
        'count events',
        `SELECT g0 AS start, g1 AS key, sum(n)::int AS count FROM ${groups} c GROUP BY 1, 2 ORDER BY 1, ${keyOrder('g1', options.by)}`,
        params.values,
      );
      return rows.map((r) => ({ start: r.start.toISOString(), key: keyOf(r.key), count: r.count }));
    },

    async top(options): Promise<TopEntry[]> {
      await ready();
      const params = new Params();
      const key = groupField(options?.field);
      const limit = limitOf(options.limit, 10, 1000);
      const groups = groupCounts(params, table, s, [key], {
        ...options,
        by: options.field,
      });
      const { rows } = await run<{ key: unknown; count: number }>(
        'rank values',
        `SELECT g0 AS key, sum(n)::int AS count FROM ${groups} c GROUP BY 1 ORDER BY 2 DESC, ${keyOrder('g0', options.field)} ASC NULLS LAST LIMIT ${params.add(limit)}`,
        params.values,
      );
      return rows.map((r) => ({ key: keyOf(r.key), count: r.count }));
    },

    async trail(id, range = {}): Promise<Trail> {
      await ready();
      return readTrail(run, table, id, range, Date.now());
    },

    async retain(options) {
      if (readOnly) return refuseWrite('drop partitions');
      await ready();
      return retainPartitions(setup, options);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (given === undefined) await pool.end();
    },
  };
}
