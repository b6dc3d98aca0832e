// Retention on the real PostgreSQL (schema of its own, dropped afterwards): ten days of chained
// events from two auditors with test clocks; retain drops exactly the whole days older than the
// policy, reporting what each held (rows, first and last time, each chain's head) as read from the
// events themselves; two instances retaining at once drop each day once; storeSink's periodic
// retention records audit.retention.* into the same chained trail, and a store that is down gives
// a failure event while the app goes on.
import { createAuditor, memorySink, type AuditEvent } from '@authtrail/core';
import { compileQuery, storeSink, type DroppedPartition, type Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { PG_URL, testSchema } from './support.js';

const DAY = 86_400_000;
const CHAIN_KEY = 'retention-test-chain-key-0123456789abcdef';
const FINGERPRINT_KEY = 'retention-test-fingerprint-key-0123456789';
const dbs: ReturnType<typeof testSchema>[] = [];
const stores: Store[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(dbs.map((d) => d.drop()));
});

function fresh(prefix: string) {
  const db = testSchema(prefix);
  dbs.push(db);
  const open = () => {
    const store = postgresStore({ connectionString: PG_URL, schema: db.schema });
    stores.push(store);
    return store;
  };
  return { db, open };
}

const dayStart = (ms: number) => Math.floor(ms / DAY) * DAY;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Chained events over the ten days up to `today` (UTC midnight): two auditors (two chains), each
 * recording at 00:00:00.000, 11:00 and 23:59:59.999 of every day, as two instances of an app would.
 */
async function tenDays(today: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (const service of ['orders', 'billing']) {
    let t = 0;
    const mem = memorySink();
    const auditor = createAuditor({
      service,
      sinks: [mem],
      keys: { chain: CHAIN_KEY, fingerprint: FINGERPRINT_KEY },
      clock: () => t,
      delivery: { handleSignals: false },
    });
    for (let d = 9; d >= 0; d--)
      for (const at of [0, 11 * 3_600_000, DAY - 1]) {
        t = today - d * DAY + at;
        auditor.record({ type: 'app.order.success', user: { id: `u-${d}` } });
      }
    await auditor.flush();
    events.push(...mem.events);
    await auditor.close();
  }
  return events;
}

/** What a day's partition holds, computed from the events: the report retain must give. */
function expected(events: readonly AuditEvent[], day: number): DroppedPartition {
  const mine = events
    .filter((e) => dayStart(Date.parse(e.time)) === day)
    .sort((a, b) => a.time.localeCompare(b.time));
  const heads = new Map<string, { id: string; seq: number; hash: string }>();
  for (const e of mine)
    if (e.chain && !e.chain.anchor && e.seq !== undefined) {
      const h = heads.get(e.chain.id);
      if (!h || e.seq > h.seq)
        heads.set(e.chain.id, { id: e.chain.id, seq: e.seq, hash: e.chain.hash });
    }
  return {
    day: isoDay(day),
    partition: `authtrail_events_${isoDay(day).replace(/-/g, '')}`,
    rows: mine.length,
    first: mine[0]?.time,
    last: mine[mine.length - 1]?.time,
    chainHeads: [...heads.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

const byChain = (p: DroppedPartition) => ({
  ...p,
  chainHeads: [...p.chainHeads].sort((a, b) => a.id.localeCompare(b.id)),
});

async function partitions(db: ReturnType<typeof testSchema>): Promise<string[]> {
  const { rows } = await db.admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
    [`"${db.schema}".authtrail_events`],
  );
  return rows.map((r) => r.name);
}

const TODAY = Date.UTC(2026, 2, 15);
const NOW = new Date(TODAY + 12 * 3_600_000);

test('retain refuses malformed options, listing every problem', async () => {
  const { open } = fresh('t_ret_opts');
  const store = open();
  await expect(
    store.retain({ days: 0, now: 'yesterday', extra: 1 } as never),
  ).rejects.toMatchObject({
    code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
    message: expect.stringMatching(
      /retain\(\{ days \}\)[\s\S]*retain\(\{ now \}\)[\s\S]*retain\(\{ extra \}\)/,
    ),
  });
  expect(() =>
    storeSink(store, { retention: { days: 0, every: 'soon', often: true } as never }),
  ).toThrow(
    expect.objectContaining({
      code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
      message: expect.stringMatching(
        /retention\.days[\s\S]*retention\.every[\s\S]*'1d'[\s\S]*retention\.often/,
      ),
    }),
  );
  expect(() => storeSink(store, { retention: { every: '30d' } })).toThrow(/retention\.every/);
});

test('retain drops exactly the whole days older than the policy, with their rows and chain heads', async () => {
  const { db, open } = fresh('t_ret_drop');
  const store = open();
  const events = await tenDays(TODAY);
  expect(await store.insert(events)).toEqual({ inserted: events.length, duplicates: 0 });
  expect(await partitions(db)).toHaveLength(10);

  const dropped = await store.retain({ days: 5, now: NOW });
  // now - 5 days is 12:00 of TODAY - 5: that day is partly inside the policy and stays.
  const gone = [9, 8, 7, 6].map((d) => TODAY - d * DAY);
  expect(dropped.map(byChain)).toEqual(gone.map((day) => expected(events, day)));
  expect(dropped[0]!.rows).toBe(6);
  expect(dropped[0]!.chainHeads).toHaveLength(2);
  const kept = [5, 4, 3, 2, 1, 0].map(
    (d) => `authtrail_events_${isoDay(TODAY - d * DAY).replace(/-/g, '')}`,
  );
  expect(await partitions(db)).toEqual(kept);
  const { rows } = await db.admin.query<{ n: number; first: Date }>(
    `SELECT count(*)::int AS n, min(time) AS first FROM "${db.schema}".authtrail_events`,
  );
  expect(rows[0]).toEqual({ n: events.length - 24, first: new Date(TODAY - 5 * DAY) });

  // Again: nothing more is old enough. A day's policy keeps yesterday and today, whatever the hour.
  expect(await store.retain({ days: 5, now: NOW })).toEqual([]);
  // A report that cannot be told (onDrop throws: the auditor closed) keeps its day.
  const refused = store.retain({
    days: 1,
    now: NOW,
    onDrop: () => {
      throw new Error('auditor closed');
    },
  });
  await expect(refused).rejects.toMatchObject({
    code: 'ERR_AUTHTRAIL_STORE_FAILED',
    message: expect.stringContaining('auditor closed'),
  });
  expect(await partitions(db)).toEqual(kept);
  const told: string[] = [];
  const late = await store.retain({
    days: 1,
    now: new Date(TODAY + DAY - 1),
    onDrop: (p) => told.push(p.day),
  });
  expect(told).toEqual(late.map((p) => p.day));
  expect(late.map((p) => p.day)).toEqual([5, 4, 3, 2].map((d) => isoDay(TODAY - d * DAY)));
  expect(await partitions(db)).toEqual(kept.slice(4));

  // An event of a dropped day (a spill replayed late) is stored again: its partition comes back.
  const old = events.find((e) => dayStart(Date.parse(e.time)) === TODAY - 9 * DAY)!;
  expect(await store.insert([old])).toEqual({ inserted: 1, duplicates: 0 });
  expect(await partitions(db)).toContain(expected(events, TODAY - 9 * DAY).partition);
});

test('two instances retaining at once drop each day once', async () => {
  const { db, open } = fresh('t_ret_race');
  const [a, b] = [open(), open()];
  const events = await tenDays(TODAY);
  await a.insert(events);
  await b.migrate();
  const [fromA, fromB] = await Promise.all([
    a.retain({ days: 2, now: NOW }),
    b.retain({ days: 2, now: NOW }),
  ]);
  const all = [...fromA, ...fromB].sort((x, y) => x.day.localeCompare(y.day));
  const gone = [9, 8, 7, 6, 5, 4, 3].map((d) => TODAY - d * DAY);
  expect(all.map(byChain)).toEqual(gone.map((day) => expected(events, day)));
  expect(await partitions(db)).toHaveLength(3);
});

test('storeSink retention records each dropped day into the same chained trail', async () => {
  const { db, open } = fresh('t_ret_sink');
  const today = dayStart(Date.now());
  const events = await tenDays(today);
  await open().insert(events);

  const copy = memorySink();
  const sink = storeSink(open(), { retention: { days: 5, every: '1d' } });
  const auditor = createAuditor({
    service: 'app',
    sinks: [sink, copy],
    keys: { chain: CHAIN_KEY, fingerprint: FINGERPRINT_KEY },
    delivery: { handleSignals: false },
  });
  // The first run starts with the auditor, off the request path; the app records meanwhile.
  auditor.record({ type: 'app.order.success' });
  const done = () => copy.events.filter((e) => e.type === 'audit.retention.success').length >= 4;
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  await auditor.flush();

  const recorded = copy.events.filter((e) => e.type.startsWith('audit.retention.'));
  const gone = [9, 8, 7, 6].map((d) => today - d * DAY);
  expect(recorded.map((e) => e.type)).toEqual(gone.map(() => 'audit.retention.success'));
  for (const [i, e] of recorded.entries()) {
    const want = expected(events, gone[i]!);
    expect(e.outcome).toBe('success');
    expect(e.retention).toEqual({
      days: 5,
      partition: want.partition,
      day: want.day,
      rows: want.rows,
      first: want.first,
      last: want.last,
      chains: expect.arrayContaining(want.chainHeads),
    });
    expect(e.retention!.chains).toHaveLength(2);
    // In the app's own chain, like any event it records.
    expect(e.chain?.hash).toEqual(expect.any(String));
    expect(e.seq).toBeGreaterThan(1);
  }
  expect(sink.retention).toEqual({ runs: 1, dropped: 4, failed: 0 });
  await auditor.close();

  // And in the store itself, with the rest of the trail.
  const reader = open();
  const page = await reader.query({ where: compileQuery('type:audit.retention.*'), order: 'asc' });
  expect(page.events.map((e) => e.id)).toEqual(recorded.map((e) => e.id));
  expect(await partitions(db)).toHaveLength(6);
});

test('an auditor closed while a run is under way leaves no dropped day unrecorded', async () => {
  const { db, open } = fresh('t_ret_close');
  const today = dayStart(Date.now());
  await open().insert(await tenDays(today));
  let total = 0;
  // Closed at once, soon, a little later: each run is cut at a different point (or not at all).
  for (const [days, wait] of [
    [8, 0],
    [7, 5],
    [5, 20],
  ] as const) {
    const copy = memorySink();
    const sink = storeSink(open(), { retention: { days, every: '1d' } });
    const auditor = createAuditor({
      service: 'app',
      sinks: [sink, copy],
      keys: { fingerprint: FINGERPRINT_KEY },
      delivery: { handleSignals: false },
    });
    const before = await partitions(db);
    await new Promise((r) => setTimeout(r, wait));
    await auditor.close();
    const told = copy.events
      .filter((e) => e.type === 'audit.retention.success')
      .map((e) => e.retention!.partition);
    const after = await partitions(db);
    expect(before.filter((p) => !after.includes(p))).toEqual(told);
    expect(sink.retention!.dropped).toBe(told.length);
    total += told.length;
  }
  expect(total).toBeGreaterThan(0);
});

test('a retention run against a store that is down records a failure event, and the app goes on', async () => {
  // Port 1 on the loopback: nothing listens, the connection is refused at once.
  const down = postgresStore({
    connectionString: 'postgres://authtrail:s3cret-pw@127.0.0.1:1/test',
    connectTimeoutMs: 500,
  });
  const copy = memorySink();
  const sink = storeSink(down, { retention: { days: 400 } });
  const auditor = createAuditor({
    service: 'app',
    sinks: [copy, sink],
    keys: { fingerprint: FINGERPRINT_KEY },
    delivery: { handleSignals: false, closeTimeoutMs: 200 },
  });
  const failed = () => copy.events.find((e) => e.type === 'audit.retention.failure');
  for (let i = 0; i < 200 && !failed(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(failed()).toMatchObject({
    outcome: 'failure',
    reason: 'store_unavailable',
    error: { code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' },
    retention: { days: 400 },
  });
  expect(JSON.stringify(failed())).not.toContain('s3cret-pw');
  expect(sink.retention).toEqual({ runs: 1, dropped: 0, failed: 1 });
  // The app still records, and its events still reach the working sink.
  const after = auditor.record({ type: 'app.order.success' });
  for (let i = 0; i < 200 && !copy.events.includes(after); i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(copy.events.map((e) => e.id)).toContain(after.id);
  await auditor.close().catch(() => {});
});
