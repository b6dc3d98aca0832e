// Where the store's ingest time goes (issue 16): the same seeded batches (generate.mjs, 512 events
// as the auditor's queue makes them) inserted several ways into fresh schemas of the local
// PostgreSQL, each way `--rounds` times, interleaved so that a busy moment of the shared machine
// hits every way alike:
//
//   node bench/store/ingest.mjs [--events 100000] [--rounds 2] [--ways node,plain,rollup,store,store4]
//   node bench/store/ingest.mjs --events 100000 --rounds 3 --ways rollup,copy,storeinsert,store
//
//   node     the Node side alone: eventRow + eventJson of every event (no database)
//   before   version 1's statement (INSERT ... ON CONFLICT DO NOTHING) and indexes, one batch at a time
//   norollup version 2's insert (in id order) without the rollup, version 2's indexes
//   rollup   version 2's insert with the hourly rollup (what postgresStore sends), version 2's indexes
//            (partial on sparse columns)
//   rollup1  the same with version 1's indexes
//   copy     COPY ... FROM STDIN (text format, rows in id order) and the batch's hourly counts, made
//            in Node, upserted into the rollup, in one transaction: what postgresStore sends since
//            the COPY path (a batch holding a stored event then goes as `rollup`'s statement)
//   nodecopy the Node side of `copy` alone: COPY text and the rollup's counts (no database)
//   async    rollup with synchronous_commit off (a crash may lose the last commits: the user's choice)
//   noindex  the same without any index but the primary key: what the other indexes cost
//   store    postgresStore(...).insert(batch), one batch at a time (Node work + COPY + rollup)
//   storeN   the same with N batches in flight at once (on N pool connections)
//   storeinsert, storeinsertN   the same with `copy: false`: each batch as `rollup`'s statement
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import {
  EVENT_COLUMNS,
  ROLLUP_COLUMNS,
  dayOf,
  dayPartitionSql,
  eventJson,
  eventRow,
  migrations,
  rollupUpsertSql,
} from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { generate } from './generate.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const EVENTS = Number(arg('events', 100_000));
const ROUNDS = Number(arg('rounds', 2));
const WAYS = arg('ways', 'node,before,norollup,rollup,rollup1,store,store2').split(',');
const URL = arg('url', process.env.AUTHTRAIL_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test');

// The traffic, as the sink receives it.
const batches = [];
await generate({
  events: EVENTS,
  sinks: [{ name: 'capture', write: async (batch) => void batches.push(batch.events) }],
});
const total = batches.reduce((n, b) => n + b.length, 0);
process.stderr.write(`${total} events in ${batches.length} batches\n`);

const admin = new pg.Pool({ connectionString: URL, max: 4 });
const cols = EVENT_COLUMNS.map(([name]) => name).join(', ');
const zipped = EVENT_COLUMNS.map(([name, type], i) =>
  name === 'event' ? `jsonb_array_elements($${i + 1}::jsonb)` : `unnest($${i + 1}::${type}[])`,
).join(', ');

/** A schema at the current version with the partitions of the traffic's days. */
async function fresh(name, v1Indexes, noIndexes) {
  await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE; CREATE SCHEMA ${name}`);
  for (const m of migrations) await admin.query(m.sql(name));
  if (noIndexes)
    for (const index of [
      'time_brin',
      'user',
      'user_hash',
      'flow',
      'type',
      'token',
      'session',
      'presented',
    ])
      await admin.query(`DROP INDEX ${name}.authtrail_events_${index}`);
  // Version 1's full indexes back in place of version 2's partial ones.
  if (v1Indexes)
    for (const [index, on] of [
      ['user_hash', 'user_hash, time'],
      ['flow', 'flow_id'],
      ['token', 'token_fp'],
      ['session', 'session_id'],
      ['presented', "(event #>> '{oauth,presented,fingerprint}')"],
    ])
      await admin.query(
        `DROP INDEX ${name}.authtrail_events_${index}; CREATE INDEX authtrail_events_${index} ON ${name}.authtrail_events (${on})`,
      );
  const days = new Set(batches.flat().map((e) => dayOf(Date.parse(e.time))));
  for (const day of days) await admin.query(dayPartitionSql(name, day));
}

function params(events) {
  const columns = EVENT_COLUMNS.map(() => new Array(events.length));
  const json = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const row = eventRow(events[i]);
    for (let c = 0; c < row.length; c++) columns[c][i] = row[c];
    json[i] = eventJson(events[i]);
  }
  columns[EVENT_COLUMNS.length - 1] = `[${json.join(',')}]`;
  return columns;
}

// The COPY way's Node side, as packages/store-postgres/src/copy.ts does it (the store's helpers are
// internal): rows in COPY's text format, a text a UTC day in id order, and the batch's counts an
// hour and rollup key.
const ESCAPED = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const field = (v) =>
  v === null
    ? '\\N'
    : typeof v === 'number'
      ? String(v)
      : /[\\\n\r\t]/.test(v)
        ? v.replace(/[\\\n\r\t]/g, (c) => ESCAPED[c])
        : v;
const AT = ROLLUP_COLUMNS.map(([name]) => EVENT_COLUMNS.findIndex(([n]) => n === name));
function copyInput(events) {
  const rows = events.map(eventRow);
  const json = events.map(eventJson);
  const days = rows.map((row) => dayOf(Date.parse(row[1])));
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => days[a] - days[b] || (rows[a][0] < rows[b][0] ? -1 : 1));
  const texts = new Map();
  for (const i of order) {
    const text = json[i];
    const line = `${rows[i].map(field).join('\t')}\t${text.includes('\\') ? text.replace(/\\/g, '\\\\') : text}\n`;
    texts.set(days[i], (texts.get(days[i]) ?? '') + line);
  }
  const groups = new Map();
  for (const row of rows) {
    const ms = Date.parse(row[1]);
    const hour = ms - (ms % 3_600_000);
    const key = JSON.stringify([hour, ...AT.map((at) => row[at])]);
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { hour, row, n: 1 });
  }
  const counts = [[], ...AT.map(() => []), []];
  for (const { hour, row, n } of groups.values()) {
    counts[0].push(new Date(hour).toISOString());
    AT.forEach((at, c) => counts[c + 1].push(row[at]));
    counts[AT.length + 1].push(n);
  }
  return { data: [...texts.values()].map((t) => Buffer.from(t, 'utf8')), counts };
}
const rollupFrom = `ROWS FROM (unnest($1::timestamptz[]), ${ROLLUP_COLUMNS.map(([, t], i) => `unnest($${i + 2}::${t}[])`).join(', ')}, unnest($${ROLLUP_COLUMNS.length + 2}::bigint[])) AS r (time, ${ROLLUP_COLUMNS.map(([n]) => n).join(', ')}, n)`;

function copyIn(client, sql, data) {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyStreams.from(sql));
    let failed = false;
    stream.on('error', (error) => {
      failed = true;
      reject(error);
    });
    stream.on('finish', resolve);
    stream.write(data, () => failed || stream.end());
  });
}

async function copyWay(schema) {
  const client = await admin.connect();
  try {
    const pid = (await client.query('SELECT pg_backend_pid() AS p')).rows[0].p;
    const before = backendCpu(pid);
    const rollup = rollupUpsertSql(schema, rollupFrom, 'sum(n)');
    for (const b of batches) {
      const { data, counts } = copyInput(b);
      await client.query('BEGIN');
      for (const text of data)
        await copyIn(client, `COPY ${schema}.authtrail_events (${cols}) FROM STDIN`, text);
      await client.query(rollup, counts);
      await client.query('COMMIT');
    }
    return backendCpu(pid) - before;
  } finally {
    client.release();
  }
}

// The server's CPU seconds of one backend (same machine): steadier than wall time when other
// work shares the cores.
const HZ = 100;
function backendCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / HZ;
}

async function statement(schema, sql, session = 'SET synchronous_commit = on') {
  const client = await admin.connect();
  try {
    await client.query(session);
    const pid = (await client.query('SELECT pg_backend_pid() AS p')).rows[0].p;
    const before = backendCpu(pid);
    for (const b of batches) await client.query(sql(schema), params(b));
    return backendCpu(pid) - before;
  } finally {
    client.release();
  }
}

async function store(schema, inFlight, copy) {
  // The store's connections carry a name of their own: their backends' CPU is the server's part
  // (the migration and partition creation included).
  const url = new globalThis.URL(URL);
  url.searchParams.set('application_name', schema);
  const s = postgresStore({
    connectionString: url.href,
    schema,
    max: Math.max(4, inFlight),
    copy,
  });
  await s.migrate();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) await s.insert(batches[next++]);
    }),
  );
  const { rows } = await admin.query(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [schema],
  );
  const server = rows.reduce((sum, { pid }) => sum + backendCpu(pid), 0);
  await s.close();
  return server;
}

// Version 2's insert: in day (partition) and id order, as the COPY way (two inserts sharing events
// wait instead of deadlocking).
const insertV2 = (s) => `INSERT INTO ${s}.authtrail_events (${cols})
  SELECT * FROM ROWS FROM (${zipped}) AS r (${cols})
  ORDER BY (time AT TIME ZONE 'UTC')::date, id ON CONFLICT DO NOTHING`;
const withRollup = (s) => `WITH inserted AS (${insertV2(s)}
  RETURNING time, ${ROLLUP_COLUMNS.map(([n]) => n).join(', ')}),
counted AS (${rollupUpsertSql(s, 'inserted')})
SELECT count(*) FROM inserted`;

const ways = {
  node: async () => {
    for (const b of batches) params(b);
  },
  nodecopy: async () => {
    for (const b of batches) copyInput(b);
  },
  copy: copyWay,
  before: (schema) =>
    statement(
      schema,
      (s) =>
        `INSERT INTO ${s}.authtrail_events (${cols}) SELECT * FROM ROWS FROM (${zipped}) ON CONFLICT DO NOTHING`,
    ),
  norollup: (schema) => statement(schema, insertV2),
  rollup: (schema) => statement(schema, withRollup),
  async: (schema) => statement(schema, withRollup, 'SET synchronous_commit = off'),
};

const results = Object.fromEntries(WAYS.map((w) => [w, []]));
try {
  for (let round = 0; round < ROUNDS; round++)
    for (const way of WAYS) {
      const schema = `bench_ingest_${process.pid}`;
      // A store migrates its own schema (and creates its partitions, as in use).
      if (way.startsWith('store')) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      else if (!way.startsWith('node'))
        await fresh(schema, way === 'before' || way === 'rollup1', way === 'noindex');
      const inFlight = Number(way.replace(/^store(insert)?/, '') || 1);
      const run = way.startsWith('store')
        ? () => store(schema, inFlight, !way.startsWith('storeinsert'))
        : () => ways[way === 'rollup1' || way === 'noindex' ? 'rollup' : way](schema);
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const server = await run();
      const s = (performance.now() - t0) / 1000;
      const nodeCpu = process.cpuUsage(cpu);
      const rate = Math.round(total / s);
      results[way].push(rate);
      process.stderr.write(
        `round ${round + 1} ${way}: ${rate} events/s (${s.toFixed(2)} s, Node CPU ${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(2)} s${server === undefined ? '' : `, server CPU ${server.toFixed(2)} s`})\n`,
      );
      if (!way.startsWith('node')) await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
} finally {
  await admin.end();
}
console.log(JSON.stringify({ events: total, rounds: ROUNDS, eventsPerSecond: results }));
