// The COPY path of the PostgreSQL store's insert, against the machine's server: hostile values
// come back exactly as the INSERT statement stores them, a batch holding a stored event falls back
// to INSERT ... ON CONFLICT and counts exactly, concurrent inserts of one batch store it once, the
// rollup equals a count of the events, and a connection lost mid-COPY fails the batch cleanly.
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import type { Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import pg from 'pg';
import { PG_URL, auditorEvents, testSchema, testStores } from './support.js';

const db = testStores('t_copy');
const { stores } = db;

const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1, 9, 0, 0);

/** A store on `schema` whose connections' statements are written down in `sent`. */
function watchedStore(
  schema: string,
  options: { copy?: boolean; insertConnections?: number } = {},
) {
  const sent: string[] = [];
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  pool.on('error', () => {});
  pool.on('acquire', (client: pg.PoolClient & { watched?: boolean }) => {
    if (client.watched) return;
    client.watched = true;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const q = args[0] as string | { text?: string };
      sent.push(typeof q === 'string' ? q : String(q.text));
      return query(...args);
    };
  });
  const store = postgresStore({ pool, schema, ...options });
  const close = store.close;
  store.close = async () => {
    await close();
    await pool.end();
  };
  stores.push(store);
  return { store, sent };
}

/** Events of every shape the rollup splits by, with NULL and '' apart, over several hours. */
async function variedEvents(count: number, start: number): Promise<AuditEvent[]> {
  const made = await auditorEvents(
    Array.from({ length: count }, (_, i) => ({
      type: i % 3 === 0 ? 'authn.login.failure' : 'api.access.success',
      user: { id: `u-${i % 7}` },
    })),
    start,
    7 * 60_000,
  );
  // An undefined field is absent from the stored JSON and NULL in its column.
  return made.map(
    (e, i) =>
      ({
        ...e,
        reason: i % 4 === 3 ? undefined : i % 4 === 0 ? '' : 'idp_error',
        client: i % 5 === 0 ? undefined : { id: i % 5 === 1 ? '' : `client-${i % 3}` },
        http: i % 6 === 0 ? undefined : { ...e.http, status: [200, 401, 403][i % 3]! },
      }) as AuditEvent,
  );
}

/** The rollup's rows, and the same counted from the events: they must be equal. */
async function rollupAgainstEvents(schema: string) {
  const cols = 'type, outcome, reason, client_id, service, instance, status';
  const order = `1, ${['type', 'outcome', 'reason', 'client_id', 'service', 'instance']
    .map((c) => `${c} COLLATE "C" NULLS FIRST`)
    .join(', ')}, status NULLS FIRST`;
  const rollup = await db.admin.query(
    `SELECT hour, ${cols}, sum(n)::int AS n FROM "${schema}".authtrail_hourly GROUP BY 1, ${cols} ORDER BY ${order}`,
  );
  const events = await db.admin.query(
    `SELECT date_trunc('hour', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, ${cols}, count(*)::int AS n
     FROM "${schema}".authtrail_events GROUP BY 1, ${cols} ORDER BY ${order}`,
  );
  return { rollup: rollup.rows, events: events.rows };
}

const HOSTILE = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\.',
  '\\',
  'ends with backslash\\',
  '"double" and \'single\' quotes',
  'non-BMP 😀𝄞 and BMP é中\u2028',
  '',
  '\\t\\n literally',
  '\t\n\r\\\t',
];

describe('options', () => {
  test('refuses a copy option that is not a boolean, with every other problem', () => {
    let error: { code?: string; issues?: { path: string }[] } = {};
    try {
      postgresStore({ connectionString: PG_URL, copy: 'yes', max: 0 } as never);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues!.map((i) => i.path).sort()).toEqual([
      'postgresStore({ copy })',
      'postgresStore({ max })',
    ]);
  });
});

describe('values', () => {
  test('tabs, newlines, carriage returns, backslashes, \\N, quotes and non-BMP text come back exactly, as the INSERT statement stores them', async () => {
    const viaCopy = watchedStore(db.schema);
    const own = testSchema('t_copy_insert');
    try {
      const viaInsert = watchedStore(own.schema, { copy: false });
      const made = await auditorEvents(
        HOSTILE.map(() => ({ type: 'app.hostile.success' })),
        T0,
      );
      const events: AuditEvent[] = made.map((e, i) => {
        const v = HOSTILE[i]!;
        return {
          ...e,
          reason: v,
          user: { id: `${v}|user` },
          client: { id: v },
          flow: { id: `${v}|flow` },
          session: { id: v },
          observer: { ...e.observer, service: v, instance: `${v}|instance` },
          http: { ...e.http, route: v, status: 200 },
          trace: { id: v },
          source: { ip: '2001:db8::1', user_agent: `${v} in the JSON` },
          oauth: { token: { type: 'access_token', fingerprint: v, verified: false } },
        } as AuditEvent;
      });
      expect(await viaCopy.store.insert(events)).toEqual({
        inserted: events.length,
        duplicates: 0,
      });
      expect(await viaInsert.store.insert(events)).toEqual({
        inserted: events.length,
        duplicates: 0,
      });
      // The batch went in by COPY on one store, by the INSERT statement on the other.
      expect(viaCopy.sent.filter((q) => q.startsWith('COPY '))).toHaveLength(1);
      expect(viaInsert.sent.some((q) => q.startsWith('COPY '))).toBe(false);

      const read = (schema: string) =>
        db.admin.query(
          `SELECT id::text, time, type, outcome, reason, user_id, client_id, host(source_ip) AS ip,
                  flow_id, token_fp, session_id, service, instance, route, status, trace_id, event
           FROM "${schema}".authtrail_events ORDER BY id`,
        );
      const copied = (await read(db.schema)).rows;
      expect(copied).toEqual((await read(own.schema)).rows);
      const byId = new Map(copied.map((r) => [r.id as string, r]));
      for (const [i, event] of events.entries()) {
        const row = byId.get(event.id)!;
        const v = HOSTILE[i]!;
        expect(row).toMatchObject({
          reason: v,
          user_id: `${v}|user`,
          client_id: v,
          flow_id: `${v}|flow`,
          token_fp: v,
          session_id: v,
          service: v,
          instance: `${v}|instance`,
          route: v,
          trace_id: v,
          ip: '2001:db8::1',
          event: JSON.parse(JSON.stringify(event)),
        });
        expect(row.event.source.user_agent).toBe(`${v} in the JSON`);
      }
      // '' stays '' and '\N' stays text: neither becomes NULL.
      expect(byId.get(events[HOSTILE.indexOf('')]!.id)!.reason).toBe('');
      expect(byId.get(events[HOSTILE.indexOf('\\N')]!.id)!.reason).toBe('\\N');
      // The rollup counted each value as itself.
      const counts = await rollupAgainstEvents(db.schema);
      expect(counts.rollup).toEqual(counts.events);
    } finally {
      await own.drop();
    }
  });

  test('a time past the microsecond counts in the hour and day PostgreSQL rounds it to', async () => {
    for (const copy of [true, false]) {
      const own = testSchema('t_copy_time');
      try {
        const schema = own.schema;
        const { store } = watchedStore(schema, { copy });
        const [a, b] = await auditorEvents(
          [{ type: 'app.late.success' }, { type: 'app.late.success' }],
          T0,
        );
        // As an import of another tool's log may give them: nine digits of a second.
        const events = [
          { ...a!, time: '2026-05-01T10:59:59.999999600Z' },
          { ...b!, time: '2026-05-01T23:59:59.9999995Z' },
        ];
        expect(await store.insert(events)).toEqual({ inserted: 2, duplicates: 0 });
        const { rows } = await db.admin.query(
          `SELECT time, tableoid::regclass::text AS part FROM "${schema}".authtrail_events ORDER BY time`,
        );
        expect(rows).toEqual([
          { time: new Date('2026-05-01T11:00:00Z'), part: `${schema}.authtrail_events_20260501` },
          { time: new Date('2026-05-02T00:00:00Z'), part: `${schema}.authtrail_events_20260502` },
        ]);
        const counts = await rollupAgainstEvents(schema);
        expect(counts.rollup).toEqual(counts.events);
      } finally {
        await own.drop();
      }
    }
  });
});

describe('duplicates', () => {
  test('a batch holding one stored event stores the rest once, reports them exactly, and counts each once', async () => {
    const own = testSchema('t_copy_dup');
    try {
      const { store, sent } = watchedStore(own.schema);
      const first = await variedEvents(30, T0 + DAY);
      expect(await store.insert(first)).toEqual({ inserted: 30, duplicates: 0 });
      const second = await variedEvents(40, T0 + DAY + 5 * HOUR);
      // A retry carrying one event the last batch stored, in its middle.
      const mixed = [...second.slice(0, 20), first[12]!, ...second.slice(20)];
      sent.length = 0;
      expect(await store.insert(mixed)).toEqual({ inserted: 40, duplicates: 1 });
      // COPY was refused (23505), rolled back, and the INSERT statement stored the rest.
      expect(sent.filter((q) => /^(COPY|ROLLBACK|WITH inserted)/.test(q))).toEqual([
        expect.stringMatching(/^COPY /),
        'ROLLBACK',
        expect.stringMatching(/^WITH inserted/),
      ]);
      // An event twice in one batch, and the whole lot again.
      const third = await variedEvents(10, T0 + DAY + 10 * HOUR);
      expect(await store.insert([...third, third[3]!])).toEqual({ inserted: 10, duplicates: 1 });
      expect(await store.insert([...first, ...second, ...third])).toEqual({
        inserted: 0,
        duplicates: 80,
      });
      const { rows } = await db.admin.query(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM "${own.schema}".authtrail_events`,
      );
      expect(rows[0]).toEqual({ n: 80, ids: 80 });
      const counts = await rollupAgainstEvents(own.schema);
      expect(counts.rollup).toEqual(counts.events);
      expect(counts.rollup.reduce((n, r) => n + (r.n as number), 0)).toBe(80);
    } finally {
      await own.drop();
    }
  });

  test('three stores inserting overlapping batches at once, in other orders and across days, store and count each event once', async () => {
    const own = testSchema('t_copy_race');
    try {
      const a = watchedStore(own.schema).store;
      const b = watchedStore(own.schema, { insertConnections: 2 }).store;
      const c = watchedStore(own.schema).store;
      await a.migrate();
      const inBatches = async (store: Store, events: AuditEvent[], size: number) => {
        const sum = { inserted: 0, duplicates: 0 };
        for (let i = 0; i < events.length; i += size) {
          const r = await store.insert(events.slice(i, i + size));
          sum.inserted += r.inserted;
          sum.duplicates += r.duplicates;
        }
        return sum;
      };
      let total = 0;
      for (let round = 0; round < 3; round++) {
        // Ids out of time order (another tool's, or made from an id that is no UUID): a batch then
        // spans days in any order, which COPY's buffer a partition would reorder but for a COPY a day.
        const events = (await variedEvents(1200, T0 + (2 + 8 * round) * DAY)).map((e) => ({
          ...e,
          id: randomUUID(),
        }));
        const byId = [...events].sort((x, y) => (x.id < y.id ? -1 : 1));
        const results = await Promise.all([
          inBatches(a, events, 300),
          inBatches(b, [...events].reverse(), 500),
          inBatches(c, byId, 250),
        ]);
        expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(1200);
        expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(2400);
        total += 1200;
      }
      const { rows } = await db.admin.query(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM "${own.schema}".authtrail_events`,
      );
      expect(rows[0]).toEqual({ n: total, ids: total });
      const counts = await rollupAgainstEvents(own.schema);
      expect(counts.rollup).toEqual(counts.events);
    } finally {
      await own.drop();
    }
  });
});

describe('errors', () => {
  test('a connection lost mid-COPY fails the batch as unavailable, and its retry stores it whole', async () => {
    const own = testSchema('t_copy_lost');
    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      const { store }: { store: Store } = watchedStore(own.schema);
      const batch = await variedEvents(50, T0 + 4 * DAY);
      await store.migrate();
      await store.insert(await variedEvents(1, T0 + 4 * DAY - HOUR));
      // An uncommitted row with the id of the batch's last event: the COPY waits for it.
      const last = batch.reduce((x, e) => (e.id > x.id ? e : x));
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO "${own.schema}".authtrail_events (id, time, type, outcome, event) VALUES ($1, $2, 'x', 'success', '{}')`,
        [last.id, last.time],
      );
      const attempt = store.insert(batch).then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
      let pid: number | undefined;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        const { rows } = await db.admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY "${own.schema}"%' AND wait_event_type = 'Lock'`,
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(pid).toBeDefined();
      await db.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await attempt;
      expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' });
      await holder.query('ROLLBACK');
      // The broken connection was not reused: the retry (what the queue does) stores the batch.
      expect(await store.insert(batch)).toEqual({ inserted: 50, duplicates: 0 });
      const counts = await rollupAgainstEvents(own.schema);
      expect(counts.rollup.reduce((n, r) => n + (r.n as number), 0)).toBe(51);
      expect(counts.rollup).toEqual(counts.events);
    } finally {
      await holder.end();
      await own.drop();
    }
  });

  test('a batch for a day whose partition was dropped is refused by COPY (23514), and its retry creates the partition', async () => {
    const own = testSchema('t_copy_part');
    try {
      const { store } = watchedStore(own.schema);
      const day = T0 + 6 * DAY;
      await store.insert(await variedEvents(2, day));
      await db.admin.query(`DROP TABLE "${own.schema}".authtrail_events_20260507`);
      const batch = await variedEvents(3, day + 1000);
      await expect(store.insert(batch)).rejects.toMatchObject({
        code: 'ERR_AUTHTRAIL_STORE_FAILED',
        message: expect.stringContaining('23514'),
      });
      expect(await store.insert(batch)).toEqual({ inserted: 3, duplicates: 0 });
    } finally {
      await own.drop();
    }
  });
});
