// The PostgreSQL store against the machine's real server: options, migrations (repeated and
// concurrent), idempotent inserts, keyset pages, counts, top N, trails, and typed errors that
// never carry the connection string's password.
import type { AuditEvent, ManualEvent } from '@authtrail/core';
import { SCHEMA_VERSION, compileQuery, type Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { PG_URL, auditorEvents, testSchema, testStores } from './support.js';

const db = testStores('t_pgstore');
const { open, stores } = db;

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

const events = (specs: ManualEvent[], start = T0, stepMs?: number) =>
  auditorEvents(specs, start, stepMs);

describe('options', () => {
  test('reports every problem at once: no target, a bad schema name, an unknown option', () => {
    let error: { code?: string; message?: string; issues?: { path: string }[] } = {};
    try {
      postgresStore({ schema: 'Bad-Name', pools: 1 } as never);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues!.map((i) => i.path)).toEqual([
      'postgresStore({ connectionString })',
      'postgresStore({ schema })',
      'postgresStore({ pools })',
    ]);
    expect(error.message).toContain('pass one of connectionString');
  });
});

describe('migrations', () => {
  test('four stores starting at once on one schema apply each migration once, without an error', async () => {
    const own = testSchema('t_migrate');
    try {
      const four = [1, 2, 3, 4].map(() => open(own.schema));
      const results = await Promise.all(four.map((s) => s.migrate()));
      expect(results.map((r) => r.version)).toEqual([1, 1, 1, 1].map(() => SCHEMA_VERSION));
      expect(results.flatMap((r) => r.applied)).toEqual([1, 2]);
      const { rows } = await own.admin.query(
        `SELECT version FROM "${own.schema}".authtrail_schema ORDER BY 1`,
      );
      expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
      // Again, later, from a new store: nothing left to apply.
      expect(await open(own.schema).migrate()).toEqual({ version: SCHEMA_VERSION, applied: [] });
    } finally {
      await own.drop();
    }
  });

  test('a schema written by a newer authtrail is refused with ERR_AUTHTRAIL_STORE_VERSION', async () => {
    const own = testSchema('t_newer');
    try {
      await open(own.schema).migrate();
      await own.admin.query(
        `INSERT INTO "${own.schema}".authtrail_schema (version, description) VALUES (99, 'from the future')`,
      );
      const store = open(own.schema);
      await expect(store.insert(await events([{ type: 'app.x.success' }]))).rejects.toMatchObject({
        code: 'ERR_AUTHTRAIL_STORE_VERSION',
        message: expect.stringContaining(
          `version 99, written by a newer authtrail; this one knows up to ${SCHEMA_VERSION}`,
        ),
      });
    } finally {
      await own.drop();
    }
  });

  test('a read-only store never creates or migrates a schema, reads a migrated one, and refuses writes', async () => {
    const own = testSchema('t_readonly');
    try {
      const reader = postgresStore({
        connectionString: PG_URL,
        schema: own.schema,
        readOnly: true,
      });
      stores.push(reader);
      // A mistyped schema: a clear answer, and nothing created on the server.
      await expect(reader.query({ limit: 1 })).rejects.toMatchObject({
        code: 'ERR_AUTHTRAIL_STORE_NOT_FOUND',
        message: expect.stringContaining(`no authtrail store in schema "${own.schema}"`),
      });
      const { rows } = await own.admin.query(
        'SELECT 1 FROM information_schema.schemata WHERE schema_name = $1',
        [own.schema],
      );
      expect(rows).toEqual([]);

      const writer = open(own.schema);
      await writer.insert(await events([{ type: 'app.x.success' }]));
      expect((await reader.query({ limit: 10 })).events.map((e) => e.type)).toEqual([
        'app.x.success',
      ]);
      await expect(reader.insert(await events([{ type: 'app.y.success' }]))).rejects.toMatchObject({
        code: 'ERR_AUTHTRAIL_STORE_FAILED',
        message: expect.stringContaining('readOnly'),
      });
      await expect(reader.retain({ days: 1 })).rejects.toMatchObject({
        code: 'ERR_AUTHTRAIL_STORE_FAILED',
      });
    } finally {
      await own.drop();
    }
  });

  test('the table is partitioned by day and has the indexes the questions need', async () => {
    const store = open();
    await store.migrate();
    await store.insert(
      await events([{ type: 'app.a.success' }, { type: 'app.b.success' }], T0, DAY),
    );
    const parts = await db.admin.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '"${db.schema}".authtrail_events'::regclass ORDER BY 1`,
    );
    expect(parts.rows.map((r) => r.relname)).toEqual([
      'authtrail_events_20260301',
      'authtrail_events_20260302',
    ]);
    const idx = await db.admin.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'authtrail_events'`,
      [db.schema],
    );
    const defs = idx.rows.map((r) => r.indexdef as string).join('\n');
    for (const part of [
      'USING brin ("time")',
      '(user_id, "time")',
      '(user_hash, "time")',
      '(flow_id)',
      '(type, outcome, "time")',
      '(token_fp)',
    ])
      expect(defs).toContain(part);
  });
});

describe('insert', () => {
  test('is idempotent: the same batch twice, and an event twice in one batch, store each row once', async () => {
    const store = open();
    const batch = await events(
      Array.from({ length: 20 }, (_, i) => ({
        type: 'app.export.success',
        user: { id: `u-${i}` },
      })),
      T0 + 5 * DAY,
    );
    expect(await store.insert(batch)).toEqual({ inserted: 20, duplicates: 0 });
    expect(await store.insert(batch)).toEqual({ inserted: 0, duplicates: 20 });
    expect(await store.insert([batch[0]!, batch[0]!])).toEqual({ inserted: 0, duplicates: 2 });
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM "${db.schema}".authtrail_events WHERE time >= $1`,
      [new Date(T0 + 5 * DAY)],
    );
    expect(rows[0]).toEqual({ n: 20, ids: 20 });
  });

  test('keeps the whole event as jsonb beside its typed columns', async () => {
    const store = open();
    const [event] = await events(
      [
        {
          type: 'authn.login.failure',
          reason: 'state_mismatch',
          user: { id: 'u-json' },
          client: { id: 'web' },
          source: { ip: '203.0.113.9' },
        },
      ],
      T0 + 6 * DAY,
    );
    await store.insert([event!]);
    const { rows } = await db.admin.query(
      `SELECT id::text, time, type, outcome, reason, user_id, client_id, host(source_ip) AS ip, service, event
       FROM "${db.schema}".authtrail_events WHERE id = $1`,
      [event!.id],
    );
    expect(rows[0]).toEqual({
      id: event!.id,
      time: new Date(event!.time),
      type: event!.type,
      outcome: 'failure',
      reason: event!.reason,
      user_id: event!.user!.id,
      client_id: event!.client!.id,
      ip: event!.source!.ip,
      service: event!.observer.service,
      event: JSON.parse(JSON.stringify(event)),
    });
  });

  test('stores an event with a NUL or a lone surrogate in its fields (as U+FFFD) instead of failing its batch forever', async () => {
    const store = open();
    // Core cleans what it records; an event from elsewhere (an import, another tool) may not be.
    const [made] = await events([{ type: 'app.hostile.success' }], T0 + 7 * DAY);
    const event: AuditEvent = {
      ...made!,
      user: { id: 'nul\u0000id' },
      source: { user_agent: 'ua\ud800x\\u0000' },
    };
    expect(await store.insert([event])).toEqual({ inserted: 1, duplicates: 0 });
    const { rows } = await db.admin.query(
      `SELECT user_id, event FROM "${db.schema}".authtrail_events WHERE id = $1`,
      [event.id],
    );
    expect(rows[0].user_id).toBe('nul\ufffdid');
    // The literal backslash before u0000 is text, not an escape: it is kept.
    expect(rows[0].event.source.user_agent).toBe('ua\ufffdx\\u0000');
    expect(rows[0].event.user.id).toBe('nul\ufffdid');
  });
});

describe('partitions', () => {
  test('four stores writing into a new day at once create its partition once, without an error', async () => {
    const day = T0 + 20 * DAY;
    const four = [0, 1, 2, 3].map(() => open());
    const batches = await Promise.all(
      four.map((_, i) =>
        events([{ type: 'app.race.success', user: { id: `r-${i}` } }], day + i * 1000),
      ),
    );
    const results = await Promise.all(four.map((store, i) => store.insert(batches[i]!)));
    expect(results).toEqual(four.map(() => ({ inserted: 1, duplicates: 0 })));
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '"${db.schema}".authtrail_events'::regclass AND c.relname = 'authtrail_events_20260321'`,
    );
    expect(rows[0].n).toBe(1);
  });

  test('a day partition dropped behind its back is created again on the retry of the batch', async () => {
    const store = open();
    const day = T0 + 25 * DAY;
    await store.insert(await events([{ type: 'app.before.success' }], day));
    await db.admin.query(`DROP TABLE "${db.schema}".authtrail_events_20260326`);
    const batch = await events([{ type: 'app.after.success' }], day + 1000);
    // The first attempt finds no partition (what the auditor's queue would retry); the retry stores it.
    await expect(store.insert(batch)).rejects.toMatchObject({ code: 'ERR_AUTHTRAIL_STORE_FAILED' });
    expect(await store.insert(batch)).toEqual({ inserted: 1, duplicates: 0 });
  });
});

describe('reading', () => {
  const base = T0 + 10 * DAY;
  let all: AuditEvent[];
  let store: Store;
  beforeAll(async () => {
    store = open();
    all = await events(
      Array.from({ length: 25 }, (_, i): ManualEvent => ({
        type: i % 3 === 0 ? 'authn.login.failure' : 'authn.login.success',
        ...(i % 3 === 0 ? { reason: 'idp_error' } : {}),
        user: { id: i % 5 === 0 ? 'alice' : `u-${i % 4}` },
        flow: { id: `flow-${i % 2}` },
        session: { id: `sess-${i % 3}` },
        oauth: { token: { type: 'access_token', fingerprint: `fp-${i % 4}`, verified: false } },
      })),
      base,
      3_600_000,
    );
    await store.insert(all);
  });
  const range = { from: new Date(base), to: new Date(base + 2 * DAY) };

  test('pages through a range with keyset cursors, newest first, no event twice', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await store.query({ ...range, limit: 10, after });
      seen.push(...page.events.map((e) => e.id));
      after = page.next;
      pages++;
    } while (after !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((e) => e.id).reverse());
  });

  test('filters with a compiled query, its placeholders moved after the range', async () => {
    const page = await store.query({
      ...range,
      where: compileQuery('outcome:failure user:alice'),
      order: 'asc',
    });
    const expected = all.filter((e) => e.outcome === 'failure' && e.user?.id === 'alice');
    expect(expected.length).toBeGreaterThan(0);
    expect(page.events.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  });

  test('a cursor it did not make is ERR_AUTHTRAIL_INVALID_QUERY', async () => {
    await expect(store.query({ after: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject({
      code: 'ERR_AUTHTRAIL_INVALID_QUERY',
    });
  });

  test('counts per day split by outcome, and ranks users', async () => {
    const buckets = await store.count({ ...range, interval: '1d', by: 'outcome' });
    const expected = new Map<string, number>();
    for (const e of all) {
      const k = `${e.time.slice(0, 10)}T00:00:00.000Z ${e.outcome}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(buckets.map((b) => [`${b.start} ${b.key}`, b.count])).toEqual([...expected].sort());
    const top = await store.top({ ...range, field: 'user', limit: 2 });
    const counts = new Map<string, number>();
    for (const e of all) counts.set(e.user!.id!, (counts.get(e.user!.id!) ?? 0) + 1);
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 2);
    expect(top).toEqual(ranked.map(([key, count]) => ({ key, count })));
  });

  test("reconstructs an event's flow, token life and session, each in time order", async () => {
    const anchor = all[7]!;
    const trail = await store.trail(anchor.id);
    expect(trail.event).toEqual(JSON.parse(JSON.stringify(anchor)));
    const ids = (pick: (e: AuditEvent) => unknown) =>
      all.filter((e) => pick(e) === pick(anchor)).map((e) => e.id);
    expect(trail.flow.map((e) => e.id)).toEqual(ids((e) => e.flow?.id));
    expect(trail.token.map((e) => e.id)).toEqual(ids((e) => e.oauth?.token?.fingerprint));
    expect(trail.session.map((e) => e.id)).toEqual(ids((e) => e.session?.id));
    // A flow id alone finds the same flow.
    expect((await store.trail(anchor.flow!.id)).flow.map((e) => e.id)).toEqual(
      ids((e) => e.flow?.id),
    );
  });
});

/** The error a promise rejects with (a resolved one fails the test). */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error & { code: string },
  );

describe('errors', () => {
  const PASSWORD = 'S3cr3t-Canary-pw-7Hq';

  test('a server that cannot be reached: ERR_AUTHTRAIL_STORE_UNAVAILABLE with the fix, never the password', async () => {
    const store = postgresStore({
      connectionString: `postgres://alice:${PASSWORD}@127.0.0.1:1/test`,
      connectTimeoutMs: 1000,
    });
    stores.push(store);
    const error = await rejection(store.insert(await events([{ type: 'app.x.success' }])));
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' });
    expect(error.message).toContain('postgres://alice@127.0.0.1:1/test');
    expect(error.message).toContain('start PostgreSQL, or fix the host and port');
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(
      PASSWORD,
    );
  });

  test('a database that does not exist: unavailable, says to create it, never the password', async () => {
    const url = new URL(PG_URL);
    url.username = 'postgres';
    url.password = PASSWORD;
    url.pathname = '/authtrail_no_such_db';
    const store = postgresStore({ connectionString: url.href });
    stores.push(store);
    const error = await rejection(store.migrate());
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' });
    expect(error.message).toContain('create the database');
    expect(error.message + String(error.stack)).not.toContain(PASSWORD);
  });
});
