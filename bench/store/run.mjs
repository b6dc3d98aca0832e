// The store's figures (issue 16, Figures), measured in one run against the local PostgreSQL:
//
//   node bench/store/run.mjs [--events 1000000 | --quick] [--days 30] [--seed 42] [--runs 30]
//                            [--tool-runs 5] [--url postgres://postgres@127.0.0.1:5432/test] [--keep]
//
// 1. generate.mjs writes the traffic as JSON lines (what users grep today), through a real auditor.
// 2. The same traffic is recorded again by a real auditor whose one sink is storeSink(postgresStore)
//    in a throwaway schema: the delivery path users run (queue, batches of 512, idempotent insert).
//    Ingest rate = events / wall time of that pass, event building included.
// 3. Three questions, `--runs` times each with varied arguments, first run included: one user's page
//    over the whole range (store.query), an hourly histogram by outcome (store.count), a flow with its
//    tokens and session (store.trail). Then the same three answered with grep and jq (if installed)
//    over the file, `--tool-runs` times each (a jq pass over 1M lines takes seconds).
// 4. Bytes on disk: pg_total_relation_size of every day partition (tables, indexes, TOAST).
// The schema is dropped at the end, also on Ctrl-C; the file is deleted unless --keep.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { storeSink, compileQuery } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { END, generate, jsonLinesSink } from './generate.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const quick = process.argv.includes('--quick');
const EVENTS = Number(arg('events', quick ? 100_000 : 1_000_000));
const DAYS = Number(arg('days', 30));
const SEED = Number(arg('seed', 42));
const RUNS = Number(arg('runs', 30));
const TOOL_RUNS = Number(arg('tool-runs', 5));
const URL = arg('url', process.env.AUTHTRAIL_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test');
const SCHEMA = `bench_store_${process.pid}`;
const FILE = join(tmpdir(), `authtrail-store-bench-${process.pid}.jsonl`);
const RESULTS = join(dirname(dirname(fileURLToPath(import.meta.url))), 'results');
const FROM = new Date(END - DAYS * 86_400_000).toISOString();
const TO = new Date(END).toISOString();

const admin = new pg.Client({ connectionString: URL });
await admin.connect();
let dropped = false;
async function cleanup() {
  if (dropped) return;
  dropped = true;
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
  if (!process.argv.includes('--keep')) rmSync(FILE, { force: true });
}
process.once('SIGINT', () => {
  process.stderr.write(`\ninterrupted: dropping schema ${SCHEMA}\n`);
  cleanup().finally(() => process.exit(130));
});

const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x * 10) / 10;
const log = (s) => process.stderr.write(`${s}\n`);

try {
  // --- 1. the file ----------------------------------------------------------------------------
  let t0 = performance.now();
  const fileStats = await generate({
    events: EVENTS,
    days: DAYS,
    seed: SEED,
    sinks: [jsonLinesSink(FILE)],
  });
  const generateS = (performance.now() - t0) / 1000;
  const fileBytes = statSync(FILE).size;
  log(
    `generated ${fileStats.delivered} events (${(fileBytes / 1e6).toFixed(0)} MB) in ${generateS.toFixed(1)} s`,
  );

  // --- 2. ingest through the auditor ----------------------------------------------------------
  const store = postgresStore({ connectionString: URL, schema: SCHEMA });
  await store.migrate();
  t0 = performance.now();
  const ingestStats = await generate({
    events: EVENTS,
    days: DAYS,
    seed: SEED,
    sinks: [storeSink(store, { closeStore: false })],
  });
  const ingestS = (performance.now() - t0) / 1000;
  const rows = Number(
    (await admin.query(`SELECT count(*) AS n FROM ${SCHEMA}.authtrail_events`)).rows[0].n,
  );
  if (rows !== EVENTS || ingestStats.delivered !== EVENTS)
    throw new Error(
      `ingest: ${rows} rows and ${ingestStats.delivered} delivered for ${EVENTS} events (${JSON.stringify(ingestStats)})`,
    );
  log(`ingested ${rows} rows in ${ingestS.toFixed(1)} s (${Math.round(EVENTS / ingestS)}/s)`);
  await admin.query(`ANALYZE ${SCHEMA}.authtrail_events`);
  const bytes = Number(
    (
      await admin.query(
        `SELECT sum(pg_total_relation_size(i.inhrelid)) AS b FROM pg_inherits i
     WHERE i.inhparent = '${SCHEMA}.authtrail_events'::regclass`,
      )
    ).rows[0].b,
  );

  // --- 3. the questions -----------------------------------------------------------------------
  // What an investigator opens: users picked by their events (so busy users more often, as in
  // real lookups), and token issues spread over the range (a flow with the life of its token).
  const pick = (sql) =>
    admin.query(sql, [Math.max(RUNS, TOOL_RUNS)]).then((x) => x.rows.map((row) => row.v));
  const users =
    await pick(`SELECT user_id AS v FROM ${SCHEMA}.authtrail_events WHERE user_id IS NOT NULL
    ORDER BY hashtext(id::text) LIMIT $1`);
  const issues =
    await pick(`SELECT id::text AS v FROM ${SCHEMA}.authtrail_events WHERE type = 'oauth.token_issue.success'
    ORDER BY hashtext(id::text) LIMIT $1`);

  const questions = {
    page: {
      label: 'page: one user, whole range, newest 50',
      store: async (i) =>
        (
          await store.query({
            where: compileQuery(`user:${users[i]}`),
            from: FROM,
            to: TO,
            limit: 50,
          })
        ).events.length,
      grep: (i) => ['grep -F "$A" "$F" | tail -n 50', { A: `"user":{"id":"${users[i]}"}` }],
      jq: (i) => [
        'jq -c --arg u "$A" \'select(.user.id == $u)\' "$F" | tail -n 50',
        { A: users[i] },
      ],
    },
    histogram: {
      label: 'histogram: hourly by outcome, whole range',
      store: async () =>
        (await store.count({ from: FROM, to: TO, interval: '1h', by: 'outcome' })).length,
      grep: () => [
        `grep -oE '"time":"[0-9T-]{13}|"outcome":"[a-z]+"' "$F" | paste - - | sort | uniq -c`,
        {},
      ],
      jq: () => [`jq -r '[.time[0:13], .outcome] | @tsv' "$F" | sort | uniq -c`, {}],
    },
    flow: {
      label: "flow: a token issue, its sign-in flow and the token's use",
      // store.trail(event id): the events of its flow and of its token (issued or presented).
      store: async (i) => {
        const t = await store.trail(issues[i]);
        return new Set([...t.flow, ...t.token, ...t.session].map((e) => e.id)).size;
      },
      // The same by hand: find the event's line, take its flow id and token fingerprint, then
      // every line naming either.
      grep: (i) => [
        `L=$(grep -F -m1 "\\"id\\":\\"$A\\"" "$F");
        FL=$(printf %s "$L" | grep -oE '"flow":\\{"id":"[^"]+"' | cut -d'"' -f6);
        FP=$(printf %s "$L" | grep -oE '"token":\\{[^}]*"fingerprint":"[^"]+"' | sed 's/.*"fingerprint":"//; s/"$//');
        grep -F -e "\\"id\\":\\"$FL\\"" -e "\\"fingerprint\\":\\"$FP\\"" "$F"`,
        { A: issues[i] },
      ],
      jq: (i) => [
        `K=$(jq -r --arg id "$A" 'select(.id == $id) | [.flow.id, .oauth.token.fingerprint] | @tsv' "$F");
        FL=$(printf %s "$K" | cut -f1); FP=$(printf %s "$K" | cut -f2);
        jq -c --arg fl "$FL" --arg fp "$FP" 'select(.flow.id == $fl or .oauth.token.fingerprint == $fp or .oauth.presented.fingerprint == $fp)' "$F"`,
        { A: issues[i] },
      ],
    },
  };
  const hasJq = (() => {
    try {
      execFileSync('which', ['jq'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const shell = (cmd, env) => {
    const t = performance.now();
    const out = execFileSync('sh', ['-c', cmd], {
      env: { ...process.env, ...env, F: FILE },
      maxBuffer: 1 << 28,
    });
    return [performance.now() - t, out.toString().split('\n').filter(Boolean).length];
  };
  const results = {};
  for (const [name, q] of Object.entries(questions)) {
    const store = [];
    let storeRows = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      storeRows += await q.store(i);
      store.push(performance.now() - t);
    }
    const res = {
      label: q.label,
      store: {
        runs: RUNS,
        p95: round(p95(store)),
        median: round(median(store)),
        rows: storeRows / RUNS,
      },
    };
    for (const tool of hasJq ? ['grep', 'jq'] : ['grep']) {
      const times = [];
      let n = 0;
      for (let i = 0; i < TOOL_RUNS; i++) {
        const [ms, lines] = shell(...q[tool](i));
        times.push(ms);
        n += lines;
      }
      res[tool] = {
        runs: TOOL_RUNS,
        p95: round(p95(times)),
        median: round(median(times)),
        rows: n / TOOL_RUNS,
      };
      res[`${tool}_over_store`] = round(p95(times) / p95(store));
    }
    results[name] = res;
    log(`${name}: ${JSON.stringify(res)}`);
  }
  await store.close();

  // --- 4. report ------------------------------------------------------------------------------
  const report = {
    bench: 'store',
    engine: 'postgres',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      postgres: (await admin.query('SHOW server_version')).rows[0].server_version,
    },
    options: { events: EVENTS, days: DAYS, seed: SEED, runs: RUNS, toolRuns: TOOL_RUNS, jq: hasJq },
    generate: {
      seconds: round(generateS),
      eventsPerSecond: Math.round(EVENTS / generateS),
      fileBytes,
    },
    ingest: {
      seconds: round(ingestS),
      eventsPerSecond: Math.round(EVENTS / ingestS),
      rows,
      stats: ingestStats,
    },
    disk: {
      bytes,
      bytesPerMillionEvents: Math.round((bytes / EVENTS) * 1e6),
      fileBytesPerMillionEvents: Math.round((fileBytes / EVENTS) * 1e6),
    },
    questions: results,
  };
  const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
  const x = (v) => (v === undefined ? 'n/a' : `${v}x`);
  const ms = (v) => (v === undefined ? 'n/a' : `${v} ms`);
  const lines = [
    `## Store on PostgreSQL ${report.machine.postgres}: ${EVENTS.toLocaleString('en')} events over ${DAYS} days (${report.machine.cpus} CPUs, ${process.version})`,
    '',
    `Ingest through createAuditor + storeSink(postgresStore): **${report.ingest.eventsPerSecond.toLocaleString('en')} events/s** ` +
      `(${report.ingest.seconds} s). On disk: ${mb(report.disk.bytesPerMillionEvents)} per million events ` +
      `(JSON lines: ${mb(report.disk.fileBytesPerMillionEvents)}).`,
    '',
    `| question | store p95 (${RUNS} runs) | grep p95 (${TOOL_RUNS}) | jq p95 (${TOOL_RUNS}) | grep / store | jq / store |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.values(results).map(
      (q) =>
        `| ${q.label} | ${ms(q.store.p95)} | ${ms(q.grep?.p95)} | ${ms(q.jq?.p95)} | ${x(q.grep_over_store)} | ${x(q.jq_over_store)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  mkdirSync(RESULTS, { recursive: true });
  const out = join(RESULTS, `store-${report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
} finally {
  await cleanup();
}
