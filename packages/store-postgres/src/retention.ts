import { checkOptions, shapeOf } from '@authtrail/core/sink';
import {
  DEFAULT_RETENTION_DAYS,
  LOCK_KEY,
  dayOf,
  ident,
  type ChainHead,
  type DroppedPartition,
  type RetainOptions,
} from '@authtrail/store';
import type pg from 'pg';
import { storeError } from './errors.js';
import type { Setup } from './setup.js';

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^authtrail_events_(\d{4})(\d{2})(\d{2})$/;
// The lock of retention, apart from the migrations' (LOCK_KEY) and partition creation's (+ 1).
const RETENTION_LOCK = LOCK_KEY + 2;

/**
 * How long the drop may wait for the table's lock. Dropping a partition locks the whole table
 * for a moment, and inserts queue behind a drop that waits for a long query: rather than stall
 * every instance's inserts, the run fails (and is recorded) and the next one tries again.
 */
const LOCK_TIMEOUT = '5s';

/** The checked options of `retain`: the days kept and the instant they are counted from. */
function resolve(options: RetainOptions): {
  days: number;
  nowMs: number;
  signal?: AbortSignal;
  onDrop?: (partition: DroppedPartition) => void;
} {
  const check = checkOptions('retain', options, '');
  const days = check.int('days', check.o.days, DEFAULT_RETENTION_DAYS, 1, 36_500);
  const now = check.o.now ?? new Date();
  const nowMs = now instanceof Date ? now.getTime() : Date.parse(String(now));
  if (!(typeof now === 'string' || now instanceof Date) || Number.isNaN(nowMs))
    check.issue('now', shapeOf(now), 'use a Date or an ISO-8601 string');
  const signal = check.o.signal;
  if (signal !== undefined && typeof (signal as AbortSignal)?.aborted !== 'boolean')
    check.issue('signal', shapeOf(signal), 'use an AbortSignal');
  const onDrop = check.o.onDrop;
  if (onDrop !== undefined && typeof onDrop !== 'function')
    check.issue('onDrop', shapeOf(onDrop), 'use a function, or leave it out');
  check.known('', check.o, ['days', 'now', 'signal', 'onDrop']);
  check.done();
  return { days, nowMs, signal, onDrop };
}

/**
 * Drops every day partition wholly older than `now - days`, oldest first, each in a transaction of
 * its own under an advisory lock a schema, after reading what it holds (rows, first and last
 * time, each chain's head). An instance that waited on the lock finds the partition gone and skips
 * it, so each is dropped, and reported, once.
 */
export async function retainPartitions(
  setup: Setup,
  options: RetainOptions = {},
): Promise<DroppedPartition[]> {
  const { days, nowMs, signal, onDrop } = resolve(options);
  const { pool, schema, target } = setup;
  const s = ident(schema);
  // A partition covers [day, day + 1): it goes when its end is at or before now - days, so the
  // current day and a part of a day are never dropped (days >= 1).
  const before = dayOf(nowMs - days * DAY_MS);
  const { rows: parts } = await pool
    .query<{ name: string }>(
      'SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)',
      [`${s}.authtrail_events`],
    )
    .catch((error: unknown) => {
      throw storeError(error, target, 'list its day partitions');
    });
  const old = parts
    .map(({ name }) => {
      const m = PARTITION_NAME.exec(name);
      return m && { name, day: dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) };
    })
    .filter((p): p is { name: string; day: number } => p !== null && p.day < before)
    .sort((a, b) => a.day - b.day);

  const dropped: DroppedPartition[] = [];
  for (const { name, day } of old) {
    if (signal?.aborted) break;
    const table = `${s}.${ident(name)}`;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw Object.assign(storeError(error, target, 'retain its events'), { dropped });
    }
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        RETENTION_LOCK,
        schema,
      ]);
      const { rows: exists } = await client.query<{ t: string | null }>(
        'SELECT to_regclass($1)::text AS t',
        [table],
      );
      if (exists[0]?.t === null) {
        // Another instance dropped it while this one waited on the lock.
        await client.query('COMMIT');
        setup.days.delete(day);
        continue;
      }
      // The table first, then the partition: the order a drop takes them in. SHARE on the
      // partition keeps a late insert into that day from landing between the count and the drop
      // (and leaves reads and other days' inserts alone).
      await client.query(`LOCK TABLE ${s}.authtrail_events IN ACCESS SHARE MODE`);
      await client.query(`LOCK TABLE ${table} IN SHARE MODE`);
      const { rows: sums } = await client.query<{
        rows: string;
        first: Date | null;
        last: Date | null;
      }>(`SELECT count(*) AS rows, min(time) AS first, max(time) AS last FROM ${table}`);
      // Each chain's last event in the day: the highest seq of its id, anchors (a rotation's
      // checkpoint repeats the head without a place of its own) left out.
      const { rows: heads } = await client.query<{ id: string; seq: string; hash: string }>(
        `SELECT DISTINCT ON (event #>> '{chain,id}') event #>> '{chain,id}' AS id,
                (event -> 'seq')::numeric::text AS seq, event #>> '{chain,hash}' AS hash
         FROM ${table}
         WHERE event #>> '{chain,id}' IS NOT NULL AND event #>> '{chain,hash}' IS NOT NULL
           AND jsonb_typeof(event -> 'seq') = 'number'
           AND (event #> '{chain,anchor}') IS DISTINCT FROM 'true'::jsonb
         ORDER BY 1, (event -> 'seq')::numeric DESC`,
      );
      const sum = sums[0]!;
      const report: DroppedPartition = {
        day: new Date(day * DAY_MS).toISOString().slice(0, 10),
        partition: name,
        rows: Number(sum.rows),
        first: sum.first?.toISOString(),
        last: sum.last?.toISOString(),
        chainHeads: heads.map((h): ChainHead => ({ id: h.id, seq: Number(h.seq), hash: h.hash })),
      };
      await client.query(`DROP TABLE ${table}`);
      // The day's counts go with its events, in the same transaction: a count never sees one
      // without the other.
      await client.query(`DELETE FROM ${s}.authtrail_hourly WHERE hour >= $1 AND hour < $2`, [
        new Date(day * DAY_MS),
        new Date((day + 1) * DAY_MS),
      ]);
      // Told before the commit: a report that cannot be recorded keeps the day.
      onDrop?.(report);
      await client.query('COMMIT');
      setup.days.delete(day);
      dropped.push(report);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      // What this run dropped before is gone all the same: the error carries it, to be recorded.
      throw Object.assign(storeError(error, target, `drop the partition ${name}`), { dropped });
    } finally {
      client.release();
    }
  }
  return dropped;
}
