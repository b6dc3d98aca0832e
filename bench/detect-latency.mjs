// How long from the response that completes an attack to the alert at a webhook receiver, under
// load: issue 17's "p99 under 1 s at 5,000 req/s (group wait 0)".
//
//   node bench/detect-latency.mjs [--rate=5000] [--duration=20] [--triggers=10] [--state=memory|redis]
//
// A Fastify API (its own process, pinned to core 0 like bench/run.mjs's servers) runs authtrail with
// a file sink and detectors() whose alerts go, with `groupWaitMs: 0`, to a webhook receiver in this
// process (pinned to core 1 with the load). autocannon sends `--rate` requests a second with a valid
// RS256 bearer token; `--triggers` times a second another request arrives "from" a new IP
// (X-Forwarded-For, Fastify's trustProxy) with an `alg: none` token: the disallowed_algorithm
// detector fires on the first such token of an IP, so every trigger is one new alert. The latency of
// a trigger is from the moment its response is complete here to the moment its signed alert (matched
// by IP) arrives here: one clock. `--state=redis` keeps the counts in the local Redis
// (BENCH_REDIS_URL, default redis://127.0.0.1:6379) under a prefix of its own, deleted afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SignJWT, generateKeyPair } from 'jose';
import { dropRedisKeys } from './redis-keys.mjs';

const SELF = fileURLToPath(import.meta.url);
const SECRET = 'whsec_' + Buffer.from('bench-webhook-secret-0123456789').toString('base64');
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';

if (process.argv[2] === '--serve') await serve();
else await main();

/** The API: authtrail, a file sink, detectors alerting a webhook with no group wait. */
async function serve() {
  const { default: Fastify } = await import('fastify');
  const { authtrail } = await import('@authtrail/fastify');
  const { fileSink } = await import('@authtrail/core');
  const { detectors, webhookAlert } = await import('@authtrail/detect');
  const state = process.env.BENCH_REDIS_PREFIX
    ? (await import('@authtrail/detect-redis')).redisState({
        redis: REDIS_URL,
        prefix: process.env.BENCH_REDIS_PREFIX,
      })
    : undefined;
  const app = Fastify({ trustProxy: true });
  await app.register(authtrail, {
    service: 'bench',
    keys: { fingerprint: 'benchmark-fingerprint-key-0123456789' },
    sinks: [
      fileSink(process.env.BENCH_LOG_FILE),
      detectors({
        state,
        alerts: {
          to: [webhookAlert({ url: process.env.BENCH_WEBHOOK_URL, secret: SECRET })],
          groupWaitMs: 0,
        },
      }),
    ],
  });
  app.get('/api/items', async () => ({ items: [1, 2, 3] }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(app.server.address().port);
}

async function main() {
  const options = Object.fromEntries(
    process.argv.slice(2).map((arg) => {
      const m = /^--(rate|duration|triggers|state)=(.+)$/.exec(arg);
      if (!m) {
        console.error(
          'usage: node bench/detect-latency.mjs [--rate=5000] [--duration=20] [--triggers=10] [--state=memory|redis]',
        );
        process.exit(2);
      }
      return [m[1], m[2]];
    }),
  );
  const rate = Number(options.rate ?? 5000);
  const duration = Number(options.duration ?? 20);
  const triggers = Number(options.triggers ?? 10);
  const redis = (options.state ?? 'memory') === 'redis';

  const pin = cpus().length >= 2 && existsSync('/usr/bin/taskset');
  if (pin) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

  // The receiver: when each alert arrived, by the IP it names; its signature checked.
  const arrived = new Map();
  let badSignatures = 0;
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString();
      const signed = `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${body}`;
      const expected = createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64'))
        .update(signed)
        .digest('base64');
      if (req.headers['webhook-signature'] !== `v1,${expected}`) badSignatures++;
      const { type, data } = JSON.parse(body);
      if (type === 'authtrail.alert.firing' && data.source?.ip && !arrived.has(data.source.ip))
        arrived.set(data.source.ip, at);
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));

  const dir = mkdtempSync(join(tmpdir(), 'authtrail-latency-'));
  const prefix = redis ? `bench_latency_${randomUUID().slice(0, 8)}:` : '';
  const child = spawn(
    pin ? 'taskset' : process.execPath,
    [...(pin ? ['-c', '0', process.execPath] : []), SELF, '--serve'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BENCH_LOG_FILE: join(dir, 'audit.jsonl'),
        BENCH_WEBHOOK_URL: `http://127.0.0.1:${receiver.address().port}/hook`,
        BENCH_REDIS_PREFIX: prefix,
      },
    },
  );
  // The server's first line is its port.
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    sleep(30_000).then(() => [undefined]),
  ]);
  const port = Number(line);
  if (!port) throw new Error('the API server did not start');

  const { privateKey } = await generateKeyPair('RS256');
  const token = await new SignJWT({ scope: 'items:read' })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer('https://issuer.example')
    .setAudience('https://api.example')
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'attacker', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;

  // One trigger: a new IP, an alg-none token; resolves with when its response was complete.
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 4 });
  const trigger = (ip) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/items',
          agent,
          headers: { authorization: `Bearer ${unsigned}`, 'x-forwarded-for': ip },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now()));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const load = autocannon({
    url: `http://127.0.0.1:${port}/api/items`,
    connections: 50,
    overallRate: rate,
    duration: duration + 2,
    headers: { authorization: `Bearer ${token}` },
  });
  await sleep(2000); // the load settles before the first trigger
  const sent = new Map();
  const pending = [];
  const every = 1000 / triggers;
  const start = performance.now();
  for (let i = 0; performance.now() - start < duration * 1000; i++) {
    const ip = `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;
    pending.push(trigger(ip).then((t) => sent.set(ip, t)));
    const next = start + (i + 1) * every;
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(pending);
  const result = await load;
  await sleep(3000); // the last alerts
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  receiver.close();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
  if (redis) await dropRedisKeys(REDIS_URL, prefix);

  const latencies = [...sent]
    .map(([ip, t]) => (arrived.has(ip) ? arrived.get(ip) - t : undefined))
    .filter((v) => v !== undefined)
    .sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  const ms = (v) => (v === undefined ? '–' : v.toFixed(1));
  const achieved = Math.round(result.requests.total / (duration + 2));
  console.log(
    `\`node bench/detect-latency.mjs --rate=${rate} --duration=${duration} --triggers=${triggers} --state=${redis ? 'redis' : 'memory'}\`, ${new Date().toISOString()}\n` +
      `${cpus().length} cores, Node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; API (Fastify) pinned to core 0, load and receiver to core 1\n\n` +
      `| load req/s (asked / done) | API p99 ms | errors | triggers | alerts received | bad signatures | response to alert p50 / p90 / p99 / max ms |\n` +
      `| --- | --- | --- | --- | --- | --- | --- |\n` +
      `| ${rate} / ${achieved} | ${result.latency.p99} | ${result.errors + result.non2xx} | ${sent.size} | ${latencies.length} | ${badSignatures} | ${ms(q(0.5))} / ${ms(q(0.9))} / ${ms(q(0.99))} / ${ms(latencies.at(-1))} |`,
  );
  if (latencies.length < sent.size) process.exitCode = 1;
}
