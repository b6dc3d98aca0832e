// The hourly rollup (migration 2) against the machine's PostgreSQL: count() and top() answered
// from it equal a scan of the events over seeded random data, filters and ranges, after replayed
// batches and several stores inserting at once; a version 1 store is backfilled when it migrates;
// retention removes a dropped day's counts with its partition, in one transaction.
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import {
  EVENT_COLUMNS,
  bucketExpr,
  compileQuery,
  eventJson,
  eventRow,
  dayPartitionSql,
  dayOf,
  groupField,
  migrations,
  type BucketInterval,
  type QueryField,
  type Store,
} from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { PG_URL, testSchema, testStores } from './support.js';

const db = testStores('t_rollup');
const { open, stores } = db;

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);

/** mulberry32: the same seed, the same events and questions on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Events over three days: a few values of each rollup column, each sometimes absent and sometimes
 * empty (a NULL and '' must count apart), times on and off the hour.
 */
function randomEvents(count: number, seed: number): AuditEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = (xs: readonly string[]) => pick([undefined, '', ...xs]);
  return Array.from({ length: count }, () => {
    const onHour = r() < 0.1;
    const time = T0 + (onHour ? Math.floor(r() * 72) * HOUR : Math.floor(r() * 72 * HOUR));
    const outcome = pick(['success', 'failure', 'detected'] as const);
    const status = pick([undefined, 200, 302, 401, 403, 500]);
    const client = maybe(['web', 'cli', 'web-admin']);
    return {
      id: randomUUID(),
      time: new Date(time).toISOString(),
      type: pick([
        'authn.login.success',
        'authn.login.failure',
        'oauth.token_issue.success',
        'api.access.denied',
      ]),
      outcome,
      ...(r() < 0.7 ? { reason: maybe(['idp_error', 'state_mismatch']) } : {}),
      ...(client === undefined ? {} : { client: { id: client } }),
      observer: { service: maybe(['orders', 'billing']), instance: maybe(['a', 'b', 'c']) },
      ...(status === undefined ? {} : { http: { status } }),
      user: { id: `user-${Math.floor(r() * 20)}` },
    } as unknown as AuditEvent;
  });
}

// The query language has no empty value: a filter of the Store interface written by hand.
const EMPTY_REASON = "reason = ''";
const filterOf = (q: string, firstParam = 1) =>
  q === EMPTY_REASON
    ? { where: `reason = $${firstParam}`, params: [''] }
    : compileQuery(q, { firstParam });

const FILTERS = [
  '',
  'outcome:failure',
  'type:authn.*',
  '-reason:idp_error',
  'reason:*',
  '-client:*',
  'client:web*',
  'status:>=400',
  'status:400..499 OR service:billing',
  '(instance:a OR -instance:*) -outcome:success',
  EMPTY_REASON,
];
// Filters over other columns: answered by scanning, and still the same.
const SCAN_FILTERS = ['user:user-3', 'ip:10.0.0.0/8', '-route:/api/*'];
const BY: (QueryField | undefined)[] = [
  undefined,
  'outcome',
  'type',
  'reason',
  'client',
  'service',
  'instance',
  'status',
  'user',
];

/** Text keys sort by byte, whatever the database's collation (numbers and addresses as themselves). */
const byByte = (field: QueryField | undefined) =>
  field === undefined || field === 'status' || field === 'ip' ? '' : ' COLLATE "C"';

/** The old way, by hand: every event in the range scanned and grouped. */
async function scanCount(
  schema: string,
  o: { from?: Date; to?: Date; interval: BucketInterval; by?: QueryField; q: string },
) {
  const q = filterOf(o.q, 3);
  const key = o.by === undefined ? 'NULL' : groupField(o.by);
  const { rows } = await db.admin.query<{ start: Date; key: unknown; count: number }>(
    `SELECT ${bucketExpr(o.interval)} AS start, ${key} AS key, count(*)::int AS count
     FROM "${schema}".authtrail_events
     WHERE ($1::timestamptz IS NULL OR time >= $1) AND ($2::timestamptz IS NULL OR time < $2) AND ${q.where}
     GROUP BY 1, 2 ORDER BY 1${o.by === undefined ? '' : `, ${key}${byByte(o.by)}`}`,
    [o.from ?? null, o.to ?? null, ...q.params],
  );
  return rows.map((x) => ({
    start: x.start.toISOString(),
    key: x.key === null ? null : String(x.key),
    count: x.count,
  }));
}

/** A range: open, on the hour, or anywhere in an hour (the edges then come from the events). */
function randomRange(r: () => number): { from?: Date; to?: Date } {
  const at = () => {
    const x = r();
    if (x < 0.15) return undefined;
    const ms = T0 - HOUR + Math.floor(r() * 75 * HOUR);
    return new Date(x < 0.5 ? Math.floor(ms / HOUR) * HOUR : ms);
  };
  const a = at();
  const b = at();
  if (a && b && a > b) return { from: b, to: a };
  return { from: a, to: b };
}

async function insertInBatches(store: Store, events: AuditEvent[], size: number) {
  for (let i = 0; i < events.length; i += size) await store.insert(events.slice(i, i + size));
}

describe('count and top from the hourly rollup', () => {
  const events = randomEvents(4000, 7);

  beforeAll(async () => {
    // Four stores inserting overlapping batches at once, then the whole lot replayed: each event
    // counted once.
    const four = [1, 2, 3, 4].map(() => open());
    await four[0]!.migrate();
    const r = rng(3);
    const shuffled = [...events].sort(() => r() - 0.5);
    await Promise.all([
      insertInBatches(four[0]!, events, 300),
      insertInBatches(four[1]!, [...events].reverse(), 500),
      insertInBatches(four[2]!, shuffled, 250),
      insertInBatches(four[3]!, events.slice(1000, 3000), 400),
    ]);
    const again = await four[0]!.insert(events.slice(0, 1000));
    expect(again).toEqual({ inserted: 0, duplicates: 1000 });
  });

  test('the rollup holds each stored event once, a NULL apart from an empty value', async () => {
    const { rows } = await db.admin.query<{ n: string; nulls: string; empty: string }>(
      `SELECT sum(n) AS n,
              sum(n) FILTER (WHERE reason IS NULL) AS nulls, sum(n) FILTER (WHERE reason = '') AS empty
       FROM "${db.schema}".authtrail_hourly`,
    );
    expect(Number(rows[0]!.n)).toBe(4000);
    expect(Number(rows[0]!.nulls)).toBe(events.filter((e) => e.reason === undefined).length);
    expect(Number(rows[0]!.empty)).toBe(events.filter((e) => e.reason === '').length);
  });

  test('count() equals a scan of the events for random ranges, intervals, splits and filters', async () => {
    const store = open();
    const r = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let i = 0; i < 120; i++) {
      const o = {
        ...randomRange(r),
        interval: pick(['1h', '1d', '1h', '15m'] as const),
        by: pick(BY),
        q: i % 10 === 9 ? pick(SCAN_FILTERS) : pick(FILTERS),
      };
      const got = await store.count({ ...o, where: filterOf(o.q) });
      expect({ o, got }).toEqual({ o, got: await scanCount(db.schema, o) });
    }
  });

  test('top() equals a scan for rollup fields, with the edges of the range', async () => {
    const store = open();
    const r = rng(13);
    for (const field of ['reason', 'client', 'type', 'status', 'instance'] as const) {
      for (const q of FILTERS) {
        const range = randomRange(r);
        const got = await store.top({ ...range, field, where: filterOf(q), limit: 3 });
        const scan = await db.admin.query<{ key: unknown; count: number }>(
          `SELECT ${groupField(field)} AS key, count(*)::int AS count FROM "${db.schema}".authtrail_events
           WHERE ($1::timestamptz IS NULL OR time >= $1) AND ($2::timestamptz IS NULL OR time < $2) AND ${filterOf(q, 3).where}
           GROUP BY 1 ORDER BY 2 DESC, ${groupField(field)}${byByte(field)} ASC NULLS LAST LIMIT 3`,
          [range.from ?? null, range.to ?? null, ...filterOf(q).params],
        );
        expect({ field, q, got }).toEqual({
          field,
          q,
          got: scan.rows.map((x) => ({
            key: x.key === null ? null : String(x.key),
            count: x.count,
          })),
        });
      }
    }
  });

  test('whole hours are read from the rollup, part hours and other intervals from the events', async () => {
    // Empty the rollup of a second schema holding the same events: what it then answers shows
    // where each answer comes from.
    const own = testSchema('t_rollup_src');
    try {
      const store = open(own.schema);
      await insertInBatches(store, events, 1000);
      await own.admin.query(`TRUNCATE "${own.schema}".authtrail_hourly`);
      const range = { from: new Date(T0 + 30 * 60_000), to: new Date(T0 + 3 * HOUR) };
      // 00:30-01:00 from the events; 01:00-03:00 from the (now empty) rollup.
      const hourly = await store.count({ ...range, interval: '1h' });
      const inFirst = events.filter((e) => {
        const t = Date.parse(e.time);
        return t >= range.from.getTime() && t < T0 + HOUR;
      }).length;
      expect(hourly).toEqual([{ start: new Date(T0).toISOString(), key: null, count: inFirst }]);
      // 15-minute buckets and a filter on the user scan the events.
      expect((await store.count({ ...range, interval: '15m' })).length).toBe(10);
      expect(
        (await store.count({ ...range, interval: '1h', where: compileQuery('user:*') })).length,
      ).toBe(3);
    } finally {
      await own.drop();
    }
  });
});

describe('an insert split over connections (insertConnections)', () => {
  test('refuses a count of connections outside 1 to max', () => {
    for (const insertConnections of [0, 5, 1.5])
      expect(() => postgresStore({ connectionString: PG_URL, max: 4, insertConnections })).toThrow(
        expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }) as Error,
      );
  });

  test('stores and counts each event once, a duplicate in the other half and a replay included', async () => {
    const own = testSchema('t_rollup_split');
    try {
      const store = postgresStore({
        connectionString: PG_URL,
        schema: own.schema,
        insertConnections: 2,
      });
      stores.push(store);
      const events = randomEvents(700, 41);
      // The first event again at the end: the two halves go at once on two connections.
      expect(await store.insert([...events, events[0]!])).toEqual({
        inserted: 700,
        duplicates: 1,
      });
      expect(await store.insert(events)).toEqual({ inserted: 0, duplicates: 700 });
      const o = { interval: '1h' as const, by: 'client' as const, q: '' };
      const got = await store.count({ ...o, where: filterOf('') });
      expect(got).toEqual(await scanCount(own.schema, o));
      expect(got.reduce((n, b) => n + b.count, 0)).toBe(700);
    } finally {
      await own.drop();
    }
  });
});

describe('migration 2', () => {
  test('a store at version 1 gets its rollup filled from the events it already holds', async () => {
    const own = testSchema('t_rollup_v1');
    try {
      const s = `"${own.schema}"`;
      // A store as version 1 left it, written with version 1's insert (no rollup).
      await own.admin.query(`CREATE SCHEMA ${s}`);
      await own.admin.query(
        `CREATE TABLE ${s}.authtrail_schema (version int PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      await own.admin.query(migrations[0]!.sql(own.schema));
      await own.admin.query(
        `INSERT INTO ${s}.authtrail_schema (version, description) VALUES (1, 'v1')`,
      );
      const events = randomEvents(1500, 21);
      for (const day of new Set(events.map((e) => dayOf(Date.parse(e.time)))))
        await own.admin.query(dayPartitionSql(own.schema, day));
      const names = EVENT_COLUMNS.map(([n]) => n);
      for (const e of events)
        await own.admin.query(
          `INSERT INTO ${s}.authtrail_events (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
          [...eventRow(e), eventJson(e)],
        );

      const store = open(own.schema);
      expect(await store.migrate()).toEqual({ version: 2, applied: [2] });
      const o = { interval: '1h' as const, by: 'reason' as const, q: '' };
      const got = await store.count({ ...o, where: compileQuery('') });
      expect(got).toEqual(await scanCount(own.schema, o));
      const { rows } = await own.admin.query(`SELECT sum(n)::int AS n FROM ${s}.authtrail_hourly`);
      expect(rows).toEqual([{ n: 1500 }]);
      // And the inserts from now on keep it.
      await store.insert(randomEvents(100, 22));
      expect(await store.count({ ...o, where: compileQuery('') })).toEqual(
        await scanCount(own.schema, o),
      );
    } finally {
      await own.drop();
    }
  });
});

describe('retention', () => {
  test("a dropped day's counts go with it, and stay when the drop is rolled back", async () => {
    const own = testSchema('t_rollup_ret');
    try {
      const store = open(own.schema);
      const events = randomEvents(900, 31);
      await store.insert(events);
      const now = new Date(T0 + 3 * 86_400_000 + HOUR);
      const day0 = () =>
        own.admin.query<{ n: number }>(
          `SELECT coalesce(sum(n), 0)::int AS n FROM "${own.schema}".authtrail_hourly WHERE hour < $1`,
          [new Date(T0 + 86_400_000)],
        );
      const first = events.filter((e) => Date.parse(e.time) < T0 + 86_400_000).length;
      expect((await day0()).rows).toEqual([{ n: first }]);

      // A report that cannot be recorded rolls the drop back, and the counts with it.
      const refused = new Error('auditor closed');
      await expect(
        store.retain({
          days: 2,
          now,
          onDrop: () => {
            throw refused;
          },
        }),
      ).rejects.toBeTruthy();
      expect((await day0()).rows).toEqual([{ n: first }]);

      const dropped = await store.retain({ days: 2, now });
      expect(dropped.map((d) => [d.day, d.rows])).toEqual([['2026-03-01', first]]);
      expect((await day0()).rows).toEqual([{ n: 0 }]);
      const o = { interval: '1d' as const, by: 'outcome' as const, q: '' };
      expect(await store.count({ ...o, where: compileQuery('') })).toEqual(
        await scanCount(own.schema, o),
      );
    } finally {
      await own.drop();
    }
  });
});
