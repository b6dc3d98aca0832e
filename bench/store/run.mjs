// The store's figures (issue 16, Figures), measured in one run against the local PostgreSQL or the
// embedded engine (PGlite in a temporary directory):
//
//   node bench/store/run.mjs [--events 1000000 | --quick] [--days 30] [--seed 42] [--runs 30]
//                            [--tool-runs 5] [--url postgres://postgres@127.0.0.1:5432/test] [--keep]
//                            [--engine postgres|embedded] [--ingest-only] [--insert-connections 2]
//                            [--yield-every 256] [--store-module path/to/store-postgres.mjs]
//
// 1. generate.mjs writes the traffic as JSON lines (what users grep today), through a real auditor.
// 2. The same traffic is recorded again by a real auditor whose one sink is storeSink(the store)
//    in a throwaway schema (or directory): the delivery path users run (queue, batches of 512,
//    idempotent insert). Ingest rate = events / wall time of that pass, event building included.
//    `--ingest-only` stops here (no file, no questions).
// 3. Three questions, `--runs` times each with varied arguments, first run included: one user's page
//    over the whole range (store.query), an hourly histogram by outcome (store.count, answered from
//    the hourly rollup: the range is whole hours), a flow with its
//    tokens and session (store.trail). Then the same three answered with grep and jq (if installed)
//    over the file, `--tool-runs` times each (a jq pass over 1M lines takes seconds).
// 4. Bytes on disk: pg_total_relation_size of every day partition and the rollup (tables, indexes,
//    TOAST); for the embedded engine, the size of its directory.
// The schema (directory) is dropped at the end, also on Ctrl-C; the file is deleted unless --keep.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { storeSink, compileQuery } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { END, generate, jsonLinesSink, rng } from './generate.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const quick = process.argv.includes('--quick');
const ingestOnly = process.argv.includes('--ingest-only');
const ENGINE = arg('engine', 'postgres');
if (ENGINE !== 'postgres' && ENGINE !== 'embedded')
  throw new Error(`--engine ${ENGINE}: use postgres or embedded`);
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

// PostgreSQL: a throwaway schema, and a client of its own for what the Store interface does not
// tell (sizes, ANALYZE). Embedded: a throwaway directory.
const admin = ENGINE === 'postgres' ? new pg.Client({ connectionString: URL }) : undefined;
await admin?.connect();
const DIRECTORY =
  ENGINE === 'embedded' ? mkdtempSync(join(tmpdir(), 'authtrail-store-bench-')) : '';
let store;
async function openStore() {
  if (ENGINE === 'postgres') {
    // --store-module: another build of @authtrail/store-postgres (another commit's), to compare.
    const module = arg('store-module', undefined);
    const { postgresStore: open } = module
      ? await import(pathToFileURL(resolve(module)).href)
      : { postgresStore };
    const connections = arg('insert-connections', undefined);
    const url = new globalThis.URL(URL);
    url.searchParams.set('application_name', APP);
    return open({
      connectionString: url.href,
      schema: SCHEMA,
      ...(connections === undefined ? {} : { insertConnections: Number(connections) }),
    });
  }
  // Imported only here: the package is optional for a PostgreSQL run.
  const { embeddedStore } = await import('@authtrail/store-embedded');
  return embeddedStore({ directory: DIRECTORY });
}
let dropped = false;
async function cleanup() {
  if (dropped) return;
  dropped = true;
  await store?.close().catch(() => {});
  if (admin) {
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  } else rmSync(DIRECTORY, { recursive: true, force: true });
  if (!process.argv.includes('--keep')) rmSync(FILE, { force: true });
}
process.once('SIGINT', () => {
  process.stderr.write(`\ninterrupted: dropping ${admin ? `schema ${SCHEMA}` : DIRECTORY}\n`);
  cleanup().finally(() => process.exit(130));
});

const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x * 10) / 10;
const log = (s) => process.stderr.write(`${s}\n`);

/** Uniform samples of `n` values (reservoir sampling, seeded): the same picks on every run. */
function sampler(n, seed) {
  const r = rng(seed);
  const kept = [];
  let seen = 0;
  return {
    kept,
    offer(value) {
      seen++;
      if (kept.length < n) kept.push(value);
      else {
        const j = Math.floor(r() * seen);
        if (j < n) kept[j] = value;
      }
    },
  };
}

// The store's connections carry this name, so that their server processes can be found.
const APP = `authtrail-bench-${process.pid}`;

/**
 * CPU seconds of the server processes serving the store's connections (PostgreSQL on this
 * machine, read from /proc); undefined for the embedded engine or a remote server.
 */
async function serverCpuSeconds() {
  if (!admin) return undefined;
  const { rows } = await admin.query(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [APP],
  );
  let total = 0;
  try {
    for (const { pid } of rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    }
  } catch {
    return undefined;
  }
  return total;
}

/** Bytes under a directory. */
function directoryBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  return total;
}

try {
  // --- 1. the file ----------------------------------------------------------------------------
  // What an investigator opens, picked while the file is written: users by their events (so busy
  // users more often, as in real lookups), and token issues spread over the range (a flow with the
  // life of its token).
  const users = sampler(Math.max(RUNS, TOOL_RUNS), SEED + 1);
  const issues = sampler(Math.max(RUNS, TOOL_RUNS), SEED + 2);
  let t0 = performance.now();
  let generateS = 0;
  let fileBytes = 0;
  if (!ingestOnly) {
    const file = jsonLinesSink(FILE);
    const fileStats = await generate({
      events: EVENTS,
      days: DAYS,
      seed: SEED,
      sinks: [
        {
          ...file,
          write(batch) {
            for (const e of batch.events) {
              if (e.user?.id !== undefined) users.offer(e.user.id);
              if (e.type === 'oauth.token_issue.success') issues.offer(e.id);
            }
            return file.write(batch);
          },
        },
      ],
    });
    generateS = (performance.now() - t0) / 1000;
    fileBytes = statSync(FILE).size;
    log(
      `generated ${fileStats.delivered} events (${(fileBytes / 1e6).toFixed(0)} MB) in ${generateS.toFixed(1)} s`,
    );
  }

  // --- 2. ingest through the auditor ----------------------------------------------------------
  store = await openStore();
  await store.migrate();
  const serverCpu = await serverCpuSeconds();
  const nodeCpu = process.cpuUsage();
  t0 = performance.now();
  const ingestStats = await generate({
    events: EVENTS,
    days: DAYS,
    seed: SEED,
    sinks: [storeSink(store, { closeStore: false })],
    yieldEvery: Number(arg('yield-every', 0)),
  });
  const ingestS = (performance.now() - t0) / 1000;
  // CPU an event, of this process (the auditor, the sink, pg) and of the server's backends: steadier
  // than the rate when other work shares the cores.
  const used = process.cpuUsage(nodeCpu);
  const cpu = {
    nodeUsPerEvent: round((used.user + used.system) / EVENTS),
    serverUsPerEvent:
      serverCpu === undefined
        ? undefined
        : round((((await serverCpuSeconds()) - serverCpu) * 1e6) / EVENTS),
  };
  // Counted twice: 15-minute buckets scan the events, days come from the hourly rollup.
  const sum = (buckets) => buckets.reduce((n, b) => n + b.count, 0);
  const rows = sum(await store.count({ interval: '15m' }));
  const rolled = sum(await store.count({ interval: '1d' }));
  if (rows !== EVENTS || rolled !== EVENTS || ingestStats.delivered !== EVENTS)
    throw new Error(
      `ingest: ${rows} rows (${rolled} in the rollup) and ${ingestStats.delivered} delivered for ${EVENTS} events (${JSON.stringify(ingestStats)})`,
    );
  log(
    `ingested ${rows} rows in ${ingestS.toFixed(1)} s (${Math.round(EVENTS / ingestS)}/s); CPU an event: ${JSON.stringify(cpu)}`,
  );
  if (ingestOnly) {
    console.log(
      JSON.stringify({
        engine: ENGINE,
        events: EVENTS,
        ingest: { seconds: round(ingestS), eventsPerSecond: Math.round(EVENTS / ingestS), cpu },
      }),
    );
    process.exit(await cleanup().then(() => 0));
  }
  let bytes;
  if (admin) {
    await admin.query(`ANALYZE ${SCHEMA}.authtrail_events`);
    await admin.query(`ANALYZE ${SCHEMA}.authtrail_hourly`);
    bytes = Number(
      (
        await admin.query(
          `SELECT sum(pg_total_relation_size(i.inhrelid)) + pg_total_relation_size('${SCHEMA}.authtrail_hourly') AS b
           FROM pg_inherits i WHERE i.inhparent = '${SCHEMA}.authtrail_events'::regclass`,
        )
      ).rows[0].b,
    );
  } else bytes = directoryBytes(DIRECTORY);

  // --- 3. the questions -----------------------------------------------------------------------
  const questions = {
    page: {
      label: 'page: one user, whole range, newest 50',
      store: async (i) =>
        (
          await store.query({
            where: compileQuery(`user:${users.kept[i]}`),
            from: FROM,
            to: TO,
            limit: 50,
          })
        ).events.length,
      grep: (i) => ['grep -F "$A" "$F" | tail -n 50', { A: `"user":{"id":"${users.kept[i]}"}` }],
      jq: (i) => [
        'jq -c --arg u "$A" \'select(.user.id == $u)\' "$F" | tail -n 50',
        { A: users.kept[i] },
      ],
    },
    histogram: {
      label: 'histogram: hourly by outcome, whole range (hourly rollup)',
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
        const t = await store.trail(issues.kept[i]);
        return new Set([...t.flow, ...t.token, ...t.session].map((e) => e.id)).size;
      },
      // The same by hand: find the event's line, take its flow id and token fingerprint, then
      // every line naming either.
      grep: (i) => [
        `L=$(grep -F -m1 "\\"id\\":\\"$A\\"" "$F");
        FL=$(printf %s "$L" | grep -oE '"flow":\\{"id":"[^"]+"' | cut -d'"' -f6);
        FP=$(printf %s "$L" | grep -oE '"token":\\{[^}]*"fingerprint":"[^"]+"' | sed 's/.*"fingerprint":"//; s/"$//');
        grep -F -e "\\"id\\":\\"$FL\\"" -e "\\"fingerprint\\":\\"$FP\\"" "$F"`,
        { A: issues.kept[i] },
      ],
      jq: (i) => [
        `K=$(jq -r --arg id "$A" 'select(.id == $id) | [.flow.id, .oauth.token.fingerprint] | @tsv' "$F");
        FL=$(printf %s "$K" | cut -f1); FP=$(printf %s "$K" | cut -f2);
        jq -c --arg fl "$FL" --arg fp "$FP" 'select(.flow.id == $fl or .oauth.token.fingerprint == $fp or .oauth.presented.fingerprint == $fp)' "$F"`,
        { A: issues.kept[i] },
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
  store = undefined;

  // --- 4. report ------------------------------------------------------------------------------
  const report = {
    bench: 'store',
    engine: ENGINE,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      postgres: admin
        ? (await admin.query('SHOW server_version')).rows[0].server_version
        : 'PGlite (embedded)',
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
      cpu,
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
    `## Store on ${admin ? `PostgreSQL ${report.machine.postgres}` : 'the embedded engine (PGlite)'}: ${EVENTS.toLocaleString('en')} events over ${DAYS} days (${report.machine.cpus} CPUs, ${process.version})`,
    '',
    `Ingest through createAuditor + storeSink(${ENGINE === 'postgres' ? 'postgresStore' : 'embeddedStore'}): **${report.ingest.eventsPerSecond.toLocaleString('en')} events/s** ` +
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
