// npm run bench: what authtrail costs an API next to the bare framework and next to the usual request
// loggers, measured side by side in one run per framework.
//
//   node bench/run.mjs [--framework=all|express|koa|fastify] [--rounds=3] [--duration=5]
//                      [--connections=50] [--configs=bare,noop,file,...]
//
// `--configs=...,pg` adds authtrail with storeSink(postgresStore) into a throwaway schema of the
// local PostgreSQL (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test): its "logged"
// columns count the rows stored, its bytes a line are not measured. `detect-redis` keeps the
// detectors' counts in the local Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379) under a
// prefix of its own each round, deleted afterwards.
//
// Every configuration is its own server process (bench/server.mjs) on 127.0.0.1; autocannon drives it
// from this process with the same RS256 access token on every request, first for a 1 s warm-up of that
// process, then for the measured window. Rounds are interleaved (A B C, A B C ...), so that a slow
// minute of the machine hits every configuration,
// and each round is compared with the bare framework's in the same round. For the configurations that
// write a log, the runner also counts the lines on disk when the load stops, 1 s later and after the
// server has exited on SIGTERM: what a crash, or a clean shutdown, would keep. The `floor` config
// (bench/floor.mjs) is the least such a line can cost: a target it misses is out of reach here.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { dropRedisKeys } from './redis-keys.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const SERVER = join(BENCH_DIR, 'server.mjs');
const WARMUP_SECONDS = 1;
const AUDIENCE = 'https://api.example';

// ---------------------------------------------------------------------------------------------
// Configurations

const FRAMEWORKS = ['express', 'koa', 'fastify'];
const DEFAULT_CONFIGS = {
  express: ['bare', 'floor', 'noop', 'file', 'verify', 'pino-http', 'express-winston'],
  koa: ['bare', 'floor', 'noop', 'file', 'verify', 'koa-pino-logger'],
  fastify: ['bare', 'floor', 'noop', 'file', 'verify', 'fastify-logger'],
};
// Peers exist for one framework each; fastify-logger-1line is opt-in (see bench/server.mjs).
const PEERS = {
  express: ['pino-http', 'express-winston'],
  koa: ['koa-pino-logger'],
  fastify: ['fastify-logger', 'fastify-logger-1line'],
};
const COMMON = ['bare', 'floor', 'noop', 'file', 'verify'];
// Opt-in for every framework: the floor with lines as long as authtrail's (what the bytes cost), the
// file config with the detectors on, and the PostgreSQL store as the sink.
const OPT_IN = ['floor-wide', 'detect', 'detect-redis', 'pg'];
const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
// Lines each served request adds to the log file, for the configs that write one. Fastify's built-in
// logger writes two by default ('incoming request' and 'request completed').
const LINES_PER_REQUEST = {
  floor: 1,
  'floor-wide': 1,
  file: 1,
  verify: 1,
  detect: 1,
  'detect-redis': 1,
  pg: 1,
  'pino-http': 1,
  'express-winston': 1,
  'koa-pino-logger': 1,
  'fastify-logger': 2,
  'fastify-logger-1line': 1,
};

// ---------------------------------------------------------------------------------------------
// Options

const USAGE =
  'usage: node bench/run.mjs [--framework=express|koa|fastify|all] [--rounds=3] [--duration=5] [--connections=50] [--configs=a,b,...]';

function parseOptions(argv) {
  const known = ['framework', 'rounds', 'duration', 'connections', 'configs'];
  const given = new Map();
  for (const arg of argv) {
    const match = /^--([a-z]+)=(.+)$/.exec(arg);
    if (!match || !known.includes(match[1])) fail(`unknown argument ${arg}\n${USAGE}`);
    given.set(match[1], match[2]);
  }
  const number = (name, fallback, min) => {
    const value = Number(given.get(name) ?? fallback);
    if (!Number.isFinite(value) || value < min) fail(`--${name} must be a number >= ${min}`);
    return value;
  };
  const framework = given.get('framework') ?? 'all';
  if (framework !== 'all' && !FRAMEWORKS.includes(framework))
    fail(`--framework must be express, koa, fastify or all\n${USAGE}`);
  return {
    frameworks: framework === 'all' ? FRAMEWORKS : [framework],
    rounds: Math.floor(number('rounds', 3, 1)),
    duration: number('duration', 5, 1),
    connections: Math.floor(number('connections', 50, 1)),
    configs: given.get('configs')?.split(','),
  };
}

/** The configs to run for one framework: the defaults, or the requested ones that exist for it. */
function configsFor(framework, requested, strict) {
  if (!requested) return DEFAULT_CONFIGS[framework];
  const valid = [...COMMON, ...OPT_IN, ...PEERS[framework]];
  const unknown = requested.filter((c) => !valid.includes(c));
  // With --framework=all a peer of another framework is skipped, not an error.
  if (unknown.length > 0 && strict)
    fail(`${framework} has no config ${unknown.join(', ')}; known: ${valid.join(', ')}`);
  if (unknown.length > 0)
    note(`${framework}: skipping ${unknown.join(', ')} (not for ${framework})`);
  return requested.filter((c) => valid.includes(c));
}

// ---------------------------------------------------------------------------------------------
// A real RS256 access token and the JWKS that verifies it

/**
 * Generates a key pair, serves its public half as a JWKS on 127.0.0.1 and signs one access token
 * (about 800 bytes, like a typical OP's) with the private half. The `verify` servers fetch the JWKS
 * from here once each, then verify the token once and reuse the result for every request.
 */
async function startIssuer() {
  const kid = 'bench-key-1';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256' }] });
  const http = createServer((req, res) => {
    if (req.url !== '/jwks.json') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${http.address().port}`;
  const jwksUri = `${issuer}/jwks.json`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    sub: 'user-1234',
    client_id: 'bench-client',
    scope: 'read:items write:items',
    jti: randomUUID(),
    sid: randomUUID(),
    auth_time: now,
    acr: 'urn:example:loa:2',
    amr: ['pwd', 'otp'],
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    // Long enough for any run; an expired token would turn `verify` into a failure path.
    .setExpirationTime(now + 24 * 3600)
    .sign(privateKey);
  // Fail now, not after minutes of load, if the servers could not verify it either.
  await jwtVerify(token, createRemoteJWKSet(new URL(jwksUri)), { issuer, audience: AUDIENCE });
  return {
    token,
    env: {
      BENCH_VERIFY_ISSUER: issuer,
      BENCH_VERIFY_AUDIENCE: AUDIENCE,
      BENCH_VERIFY_JWKS_URI: jwksUri,
    },
    close: () => (http.closeAllConnections(), http.close()),
  };
}

// ---------------------------------------------------------------------------------------------
// Probes of the server process

const CLOCK_TICKS = clockTicks();

function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100; // Linux's USER_HZ nearly everywhere
  }
}

/** User + system CPU time of the process (all its threads), in µs. */
function cpuMicros(pid) {
  // The command name (field 2) may contain spaces; the fields after it are counted from ') '.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** Resident set size in MB. */
function rssMb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

/**
 * Lines and bytes in a log file at this instant. The size is taken first and only that many bytes
 * are read, so lines the server appends while we count do not blur the snapshot.
 */
function countLines(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (err.code === 'ENOENT') return { lines: 0, bytes: 0 }; // nothing written yet
    throw err;
  }
  try {
    const bytes = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    for (let pos = 0; pos < bytes;) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, bytes - pos), pos);
      if (n === 0) break;
      const chunk = buffer.subarray(0, n);
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      pos += n;
    }
    return { lines, bytes };
  } finally {
    closeSync(fd);
  }
}

/** The first line of the log, parsed (to check that `verify` really verified). */
function firstEvent(path) {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    return JSON.parse(text.slice(0, text.indexOf('\n')));
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Server processes

// With two or more cores, the server runs on core 0 and this runner (autocannon) on core 1, so the
// two do not take turns on one core: rounds vary far less. taskset execs node: same pid.
const PIN = cpus().length >= 2 && existsSync('/usr/bin/taskset');
if (PIN) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

/** Spawns one server and resolves once it prints its port. */
async function startServer(framework, config, env) {
  const [command, args] = PIN
    ? ['taskset', ['-c', '0', process.execPath, SERVER, framework, config]]
    : [process.execPath, [SERVER, framework, config]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Listen for the exit from the start: the process may be gone before anyone awaits it.
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await Promise.race([
    new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
    exited.then(({ code, signal }) => {
      throw new Error(`${framework} ${config} server exited (${signal ?? code}) before listening`);
    }),
  ]);
  return { child, port: Number(port), exited };
}

/** SIGTERM, then wait for the exit (SIGKILL after 15 s, and say so). */
async function stopServer(server) {
  const start = performance.now();
  server.child.kill('SIGTERM');
  let result = await Promise.race([server.exited, sleep(15_000, null)]);
  if (!result) {
    server.child.kill('SIGKILL');
    result = { ...(await server.exited), killed: true };
  }
  return { ...result, ms: Math.round(performance.now() - start) };
}

// ---------------------------------------------------------------------------------------------
// One measurement

/** One server process under load for `seconds`: throughput, latency, CPU, memory, log backlog. */
async function measure({ framework, config, seconds, connections, token, env, logFile }) {
  // pg: a schema of its own each round; what it "logged" is the rows stored there.
  const schema = `bench_pg_${process.pid}_${randomUUID().slice(0, 8)}`;
  const pgClient = config === 'pg' ? new pg.Client({ connectionString: PG_URL }) : undefined;
  await pgClient?.connect();
  const countLogged = pgClient
    ? async () => {
        const { rows } = await pgClient.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [
          `${schema}.authtrail_events`,
        ]);
        if (!rows[0].there) return { lines: 0, bytes: 0 };
        const n = await pgClient.query(`SELECT count(*)::int AS n FROM ${schema}.authtrail_events`);
        return { lines: n.rows[0].n, bytes: 0 };
      }
    : async () => countLines(logFile);
  const server = await startServer(framework, config, {
    ...env,
    BENCH_LOG_FILE: logFile,
    BENCH_PG_URL: PG_URL,
    BENCH_PG_SCHEMA: schema,
    BENCH_REDIS_URL: REDIS_URL,
    BENCH_REDIS_PREFIX: `${schema}:`,
  });
  const { pid } = server.child;
  const linesPerRequest = LINES_PER_REQUEST[config];
  try {
    const load = (duration) =>
      autocannon({
        url: `http://127.0.0.1:${server.port}/api/items`,
        connections,
        duration,
        headers: { authorization: `Bearer ${token}` },
      });
    const rssBefore = rssMb(pid);
    // Every round is a new process: it is warmed up under the same load (code optimised, modules
    // loaded by the first requests) before anything is measured, or a round's p99 and throughput
    // would be its first second's.
    const warmup = await load(WARMUP_SECONDS);
    const cpuBefore = cpuMicros(pid);
    const rssWarm = rssMb(pid);
    const result = await load(seconds);
    const stoppedAt = performance.now();
    // Read right away: CPU and RSS as of the end of the load, then the log as it stands.
    const cpu = cpuMicros(pid) - cpuBefore;
    const rssEnd = rssMb(pid);
    const atStop = linesPerRequest ? await countLogged() : undefined;
    let after1s;
    if (linesPerRequest) {
      await sleep(Math.max(0, 1000 - (performance.now() - stoppedAt)));
      after1s = await countLogged();
    }
    const exit = await stopServer(server);
    const afterExit = linesPerRequest ? await countLogged() : undefined;
    const served = result['2xx'];
    // The log holds the warm-up's lines too. Autocannon drops the requests in flight when time is up;
    // the server may still answer and log them, so a count can pass 100% of "served" by up to one
    // request per connection.
    const logged = (count) =>
      count && served ? count.lines / ((warmup['2xx'] + served) * linesPerRequest) : undefined;
    return {
      rps: result.requests.average,
      served,
      requests: result.requests.total,
      errors: result.errors + result.timeouts + result.non2xx,
      latency: {
        p50: result.latency.p50,
        p99: result.latency.p99,
        mean: result.latency.average,
      },
      cpuPerRequest: cpu / result.requests.total,
      rssMb: rssEnd,
      rssGrowthMb: rssEnd - rssBefore,
      rssGrowthAfterWarmupMb: rssEnd - rssWarm,
      log: linesPerRequest && {
        linesPerRequest,
        atStop,
        after1s,
        afterExit,
        loggedAtStop: logged(atStop),
        loggedAfter1s: logged(after1s),
        loggedAfterExit: logged(afterExit),
        bytesPerLine: afterExit.bytes ? afterExit.bytes / afterExit.lines : undefined,
      },
      verified: config === 'verify' ? verifiedIn(logFile) : undefined,
      exit,
    };
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null)
      server.child.kill('SIGKILL');
    // A fresh file every round; they run to hundreds of MB, so none is kept.
    rmSync(logFile, { force: true });
    if (pgClient) {
      await pgClient.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pgClient.end();
    }
    if (config === 'detect-redis') await dropRedisKeys(REDIS_URL, `${schema}:`);
  }
}

function verifiedIn(logFile) {
  try {
    return firstEvent(logFile).oauth?.token?.verified === true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// One framework: interleaved rounds, summary

async function runFramework(framework, configs, options, issuer) {
  const logDir = mkdtempSync(join(tmpdir(), 'authtrail-bench-'));
  const base = { framework, connections: options.connections, token: issuer.token };
  const env = issuer.env;
  try {
    const rounds = Object.fromEntries(configs.map((c) => [c, []]));
    for (let r = 1; r <= options.rounds; r++) {
      for (const config of configs) {
        const logFile = join(logDir, `${config}-round${r}.log`);
        const m = await measure({ ...base, config, seconds: options.duration, env, logFile });
        rounds[config].push(m);
        note(`${framework} round ${r}/${options.rounds} ${config}: ${progress(m)}`);
        if (m.verified === false)
          note(`  WARNING: the first event of verify does not say oauth.token.verified: true`);
      }
    }
    return rounds;
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

function progress(m) {
  let line = `${Math.round(m.rps)} req/s, p99 ${m.latency.p99} ms`;
  if (m.log)
    line += `, logged ${percent(m.log.loggedAtStop)} at stop, ${percent(m.log.loggedAfterExit)} after exit`;
  return line;
}

/** Medians over rounds; ratios and p99 differences are per round, against that round's bare (and floor). */
function summarize(configs, rounds) {
  const { bare, floor } = rounds;
  const pick = (rs, f) => median(rs.map(f).filter((v) => v !== undefined));
  return Object.fromEntries(
    configs.map((config) => {
      const rs = rounds[config];
      return [
        config,
        {
          rps: pick(rs, (m) => m.rps),
          ratioToBare: bare ? pick(rs, (m, i) => m.rps / bare[i].rps) : undefined,
          ratioToFloor: floor ? pick(rs, (m, i) => m.rps / floor[i].rps) : undefined,
          p99: pick(rs, (m) => m.latency.p99),
          p99MinusBare: bare ? pick(rs, (m, i) => m.latency.p99 - bare[i].latency.p99) : undefined,
          cpuPerRequest: pick(rs, (m) => m.cpuPerRequest),
          rssMb: pick(rs, (m) => m.rssMb),
          rssGrowthMb: pick(rs, (m) => m.rssGrowthMb),
          rssGrowthAfterWarmupMb: pick(rs, (m) => m.rssGrowthAfterWarmupMb),
          loggedAtStop: pick(rs, (m) => m.log?.loggedAtStop),
          loggedAfter1s: pick(rs, (m) => m.log?.loggedAfter1s),
          loggedAfterExit: pick(rs, (m) => m.log?.loggedAfterExit),
          bytesPerLine: pick(rs, (m) => m.log?.bytesPerLine),
          exitMs: pick(rs, (m) => m.exit.ms),
          errors: rs.reduce((n, m) => n + m.errors, 0),
          killed: rs.some((m) => m.exit.killed),
          verified: config === 'verify' ? rs.every((m) => m.verified) : undefined,
        },
      ];
    }),
  );
}

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Output

function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    node: process.version,
    // Other work on the machine shows up here first; the numbers mean little when it is high.
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    pinned: PIN,
  };
}

function versions(framework, configs) {
  const names = [framework, ...configs.filter((c) => PEERS[framework].includes(c))];
  const packageOf = { 'fastify-logger': 'pino', 'fastify-logger-1line': 'pino' };
  const out = {};
  for (const name of names.map((n) => packageOf[n] ?? n)) {
    try {
      const pkg = join(ROOT, 'node_modules', name, 'package.json');
      out[name] = JSON.parse(readFileSync(pkg, 'utf8')).version;
    } catch {
      out[name] = undefined;
    }
  }
  return out;
}

const percent = (x) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const fixed = (x, digits) => (x === undefined ? '–' : x.toFixed(digits));
const signed = (x) => (x === undefined ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);

function table(configs, summary) {
  const header = [
    'config',
    'req/s',
    'ratio to bare',
    'ratio to floor',
    'p99 ms',
    'p99 − bare ms',
    'CPU µs/req',
    'RSS MB',
    'RSS growth MB',
    'growth after warm-up MB',
    'logged at stop',
    'logged +1 s',
    'logged after exit',
    'bytes/line',
    'exit ms',
    'errors',
  ];
  const rows = configs.map((config) => {
    const s = summary[config];
    const flags = `${s.verified === false ? ' (NOT verified)' : ''}${s.killed ? ' (SIGKILLed)' : ''}`;
    return [
      config + flags,
      Math.round(s.rps),
      fixed(s.ratioToBare, 3),
      fixed(s.ratioToFloor, 3),
      fixed(s.p99, 1),
      signed(s.p99MinusBare),
      fixed(s.cpuPerRequest, 1),
      Math.round(s.rssMb),
      signed(s.rssGrowthMb),
      signed(s.rssGrowthAfterWarmupMb),
      percent(s.loggedAtStop),
      percent(s.loggedAfter1s),
      percent(s.loggedAfterExit),
      fixed(s.bytesPerLine, 0),
      Math.round(s.exitMs),
      s.errors,
    ];
  });
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function report(framework, configs, options, meta, rounds) {
  const summary = summarize(configs, rounds);
  const { machine: m } = meta;
  console.log(`\n## ${framework}\n`);
  console.log(`\`${meta.command}\`, ${meta.date}`);
  console.log(
    `${m.cores} cores (${m.cpu}), Node ${m.node}, load average ${m.loadavg.join(' ')} at start; ` +
      `${m.pinned ? 'server pinned to core 0, load generator to core 1; ' : ''}` +
      `${options.connections} connections, ${options.duration} s x ${options.rounds} interleaved rounds, each process warmed up for ${WARMUP_SECONDS} s first; ` +
      `RS256 token of ${meta.tokenBytes} bytes; ${Object.entries(versions(framework, configs))
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')}\n`,
  );
  console.log(table(configs, summary));
  console.log(
    "\nMedians over rounds. Ratios and p99 − bare: per round against that round's bare (and floor: the " +
      'minimal logger of bench/floor.mjs, the least this work can cost). "logged": lines in the ' +
      'log file over requests served (2xx), when the load stops, 1 s later, and after the server exited on SIGTERM.',
  );
  if (options.rounds < 3) console.log('Fewer than 3 rounds: a smoke test, not a measurement.');

  const file = join(BENCH_DIR, 'results', `${framework}-${meta.stamp}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const json = { framework, ...meta, options, configs, summary, rounds };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nResults: ${file.slice(ROOT.length + 1)}`);
}

function note(message) {
  process.stderr.write(`${message}\n`);
}

function fail(message) {
  process.stderr.write(`bench/run.mjs: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2));
const plan = options.frameworks.map((f) => [
  f,
  configsFor(f, options.configs, options.frameworks.length === 1),
]);
const issuer = await startIssuer();
if (options.rounds < 3) note('note: fewer than 3 rounds, medians are not meaningful');
try {
  for (const [framework, configs] of plan) {
    if (configs.length === 0) continue;
    // Taken per framework: with --framework=all, each one starts at its own time and machine load.
    const date = new Date();
    const meta = {
      command: ['node', 'bench/run.mjs', ...process.argv.slice(2)].join(' '),
      date: date.toISOString(),
      stamp: date
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replaceAll(':', '-'),
      machine: machine(),
      tokenBytes: Buffer.byteLength(issuer.token),
    };
    const rounds = await runFramework(framework, configs, options, issuer);
    report(framework, configs, options, meta, rounds);
  }
} finally {
  issuer.close();
}
