// One benchmark server: node bench/server.mjs <express|koa|fastify> <config>. Prints its port, then
// serves GET /api/items (a small JSON body) until SIGTERM or SIGINT.
//
// Configs:
//   bare                  no logging at all
//   noop                  authtrail, a sink that discards every event
//   file                  authtrail, fileSink(BENCH_LOG_FILE)
//   verify                authtrail, fileSink + its own token verification against a JWKS
//   pg                    authtrail, storeSink(postgresStore) into BENCH_PG_SCHEMA (not a default config)
//   detect                authtrail, fileSink + detectors() in memory (not a default config)
//   detect-redis          the same with the detectors' state in Redis (not a default config)
//   floor                 the minimal hand-written audit logger of bench/floor.mjs (a reference)
//   floor-wide            the same with lines padded to authtrail's length (~650 bytes; not a default)
//   pino-http             Express + pino-http, pino.destination({ dest, sync: false })
//   express-winston       Express + express-winston, winston File transport
//   koa-pino-logger       Koa + koa-pino-logger, pino.destination({ dest, sync: false })
//   fastify-logger        Fastify's built-in logger, { level: 'info', file } (two lines a request)
//   fastify-logger-1line  the same with only the 'request completed' line (not a default config)
//
// Environment (set by bench/run.mjs):
//   BENCH_LOG_FILE         where the file-writing configs write (default: a new temporary file)
//   BENCH_VERIFY_ISSUER, BENCH_VERIFY_AUDIENCE, BENCH_VERIFY_JWKS_URI   for `verify`
//   BENCH_PG_URL, BENCH_PG_SCHEMA   for `pg` (default postgres://postgres@127.0.0.1:5432/test, bench_pg)
//   BENCH_REDIS_URL, BENCH_REDIS_PREFIX   for `detect-redis` (default redis://127.0.0.1:6379, authtrail:bench:)
//   BENCH_MAX_WAIT_MS      authtrail's `delivery.maxWaitMs` for every authtrail config (default: its own, 0)
//
// Shutdown: authtrail configs install no signal listener, so that authtrail's own handling (close
// the auditor, flush, raise the signal again) is what the runner measures after SIGTERM. The other
// configs have no signal handling of their own; they get what a typical app does: close the server,
// let pino flush (its documented `logger.flush(cb)`), then exit.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [, , framework = 'express', config = 'bare'] = process.argv;
const logFile =
  process.env.BENCH_LOG_FILE || join(mkdtempSync(join(tmpdir(), 'authtrail-bench-')), 'bench.log');
const items = { items: [1, 2, 3] };
// The floor's lines are ~320 bytes; floor-wide pads them to about the length of authtrail's.
const floorPadding = { floor: 0, 'floor-wide': 320 }[config];

/** authtrail's options for the authtrail configs, or undefined for the others. */
async function authtrailOptions() {
  // Only authtrail configs load authtrail at all, so the others run without its signal handling.
  if (!['noop', 'file', 'verify', 'detect', 'detect-redis', 'pg'].includes(config))
    return undefined;
  const { fileSink } = await import('@authtrail/core');
  const configs = {
    noop: () => ({ sinks: [{ name: 'noop', write() {} }] }),
    file: () => ({ sinks: [fileSink(logFile)] }),
    verify: () => ({ sinks: [fileSink(logFile)], verify: verifyOptions() }),
    // file, and every built-in detector reading the same events in its own lane.
    detect: async () => {
      const { detectors } = await import('@authtrail/detect');
      return { sinks: [fileSink(logFile), detectors()] };
    },
    // The same, every count kept in Redis: one EVALSHA per batch of the detectors' lane.
    'detect-redis': async () => {
      const { detectors } = await import('@authtrail/detect');
      const { redisState } = await import('@authtrail/detect-redis');
      const state = redisState({
        redis: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
        prefix: process.env.BENCH_REDIS_PREFIX || 'authtrail:bench:',
      });
      return { sinks: [fileSink(logFile), detectors({ state })] };
    },
    pg: async () => {
      const { storeSink } = await import('@authtrail/store');
      const { postgresStore } = await import('@authtrail/store-postgres');
      const store = postgresStore({
        connectionString: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test',
        schema: process.env.BENCH_PG_SCHEMA || 'bench_pg',
      });
      // Migrated before the server listens, as an app's first batch would otherwise do it.
      await store.migrate();
      return { sinks: [storeSink(store)] };
    },
  };
  return {
    ...(await configs[config]()),
    keys: { fingerprint: 'benchmark-fingerprint-key-0123456789' },
    service: 'bench',
    ...(process.env.BENCH_MAX_WAIT_MS && {
      delivery: { maxWaitMs: Number(process.env.BENCH_MAX_WAIT_MS) },
    }),
  };
}

function verifyOptions() {
  const { BENCH_VERIFY_ISSUER, BENCH_VERIFY_AUDIENCE, BENCH_VERIFY_JWKS_URI } = process.env;
  if (!BENCH_VERIFY_ISSUER || !BENCH_VERIFY_AUDIENCE || !BENCH_VERIFY_JWKS_URI)
    fail(
      'the verify config needs BENCH_VERIFY_ISSUER, BENCH_VERIFY_AUDIENCE and BENCH_VERIFY_JWKS_URI (bench/run.mjs sets them)',
    );
  return {
    issuer: BENCH_VERIFY_ISSUER,
    audience: BENCH_VERIFY_AUDIENCE,
    jwksUri: BENCH_VERIFY_JWKS_URI,
  };
}

/** A pino logger writing to the log file as pino's docs recommend for asynchronous logging. */
async function pinoToFile() {
  const { default: pino } = await import('pino');
  // sync: false is sonic-boom's default too; spelled out because the backlog depends on it.
  return pino(pino.destination({ dest: logFile, sync: false }));
}

/** Each builder starts the app for `config` and returns { server, flush } (flush: pino's, if any). */
const servers = {
  async express(options) {
    const { default: express } = await import('express');
    const app = express();
    let flush;
    if (options) {
      const { authtrail } = await import('@authtrail/express');
      app.use(authtrail(options));
    } else if (floorPadding !== undefined) {
      (await import('./floor.mjs')).floor.express(app, logFile, floorPadding);
    } else if (config === 'pino-http') {
      const { default: pinoHttp } = await import('pino-http');
      const logger = await pinoToFile();
      app.use(pinoHttp({ logger }));
      flush = (done) => logger.flush(done);
    } else if (config === 'express-winston') {
      const { default: winston } = await import('winston');
      const expressWinston = await import('express-winston');
      app.use(
        expressWinston.logger({
          transports: [new winston.transports.File({ filename: logFile })],
          format: winston.format.json(),
        }),
      );
    } else if (config !== 'bare') fail(`unknown config ${config} for express`);
    app.get('/api/items', (_req, res) => res.json(items));
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { server, flush };
  },

  async koa(options) {
    const { default: Koa } = await import('koa');
    const app = new Koa();
    let flush;
    if (options) {
      const { authtrail } = await import('@authtrail/koa');
      app.use(authtrail(options));
    } else if (floorPadding !== undefined) {
      (await import('./floor.mjs')).floor.koa(app, logFile, floorPadding);
    } else if (config === 'koa-pino-logger') {
      const { default: koaPino } = await import('koa-pino-logger');
      const logger = await pinoToFile();
      app.use(koaPino({ logger }));
      flush = (done) => logger.flush(done);
    } else if (config !== 'bare') fail(`unknown config ${config} for koa`);
    app.use((ctx) => {
      if (ctx.path === '/api/items') ctx.body = items;
    });
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { server, flush };
  },

  async fastify(options) {
    const { default: Fastify, LogController } = await import('fastify');
    const logs = config === 'fastify-logger' || config === 'fastify-logger-1line';
    if (!options && !logs && config !== 'bare' && floorPadding === undefined)
      fail(`unknown config ${config} for fastify`);
    // Fastify's own 'request completed' line only, without the 'incoming request' one before it.
    class CompletedOnly extends LogController {
      incomingRequest() {}
    }
    const app = Fastify({
      // Fastify opens the file with pino.destination(file): sonic-boom, asynchronous.
      logger: logs ? { level: 'info', file: logFile } : false,
      ...(config === 'fastify-logger-1line' && { logController: new CompletedOnly() }),
    });
    if (options) {
      const { authtrail } = await import('@authtrail/fastify');
      await app.register(authtrail, options);
    } else if (floorPadding !== undefined) {
      (await import('./floor.mjs')).floor.fastify(app, logFile, floorPadding);
    }
    app.get('/api/items', async () => items);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { server: app.server, flush: logs ? (done) => app.log.flush(done) : undefined };
  },
};

/** Close like a typical app would, let pino write what it buffers, exit. Not for authtrail configs. */
function exitOnSignals(server, flush = (done) => done()) {
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    // flush(cb) reports errors through cb; exit either way, and never hang on it.
    setTimeout(() => process.exit(0), 2000).unref();
    flush(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.on(signal, () => {
      server.close(exit);
      // Keep-alive sockets can keep close() waiting; the load has stopped, so do not wait long.
      setTimeout(exit, 200).unref();
    });
}

function fail(message) {
  process.stderr.write(`bench/server.mjs: ${message}\n`);
  process.exit(2);
}

if (!servers[framework]) fail(`unknown framework ${framework}; use express, koa or fastify`);
const options = await authtrailOptions();
const { server, flush } = await servers[framework](options);
if (!options) exitOnSignals(server, flush);
process.stdout.write(`${server.address().port}\n`);
