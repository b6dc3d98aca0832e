// The delivery contract of docs/delivery.md, one test (or more) per promise. Each fails when its
// promise is broken: lost, duplicated or reordered events, uncounted drops, unbounded memory.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import express from 'express';
import { createAuditor, memorySink, type AuditEvent, type Sink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const KEYS = { fingerprint: 'contract-test-fingerprint-key-0123456789' };
const fast = { minRetryDelayMs: 5, maxRetryDelayMs: 20, handleSignals: false } as const;
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const numbered = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.type === 'app.thing.success').map((e) => Number(e.reason));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A sink that fails while `down` is true, and otherwise keeps what it got. */
function flakySink(): Sink & { down: boolean; events: AuditEvent[]; calls: number } {
  const sink = {
    name: 'flaky',
    down: false,
    calls: 0,
    events: [] as AuditEvent[],
    async write(batch: { events: readonly AuditEvent[] }) {
      sink.calls++;
      await turn();
      if (sink.down) throw new Error('503 from the collector');
      sink.events.push(...batch.events);
    },
  };
  return sink;
}

describe('sink keeps up', () => {
  test('every event is delivered once, in order, in batches of at most maxBatch', async () => {
    const batches: number[] = [];
    const got: AuditEvent[] = [];
    const sink: Sink = {
      name: 'ok',
      write(batch) {
        batches.push(batch.events.length);
        got.push(...batch.events);
      },
    };
    const auditor = createAuditor({
      sinks: [sink],
      keys: KEYS,
      delivery: { maxBatch: 64, ...fast },
    });
    for (let i = 0; i < 1000; i++) {
      auditor.record({ type: 'app.thing.success', reason: String(i) });
      if (i % 97 === 0) await turn();
    }
    await auditor.flush();
    expect(numbered(got)).toEqual(range(1000));
    expect(Math.max(...batches)).toBeLessThanOrEqual(64);
  });
});

describe('a write fails', () => {
  test('drop: retried `retries` times, then dropped, counted, and reported once the sink accepts again', async () => {
    const sink = flakySink();
    sink.down = true;
    const auditor = createAuditor({ sinks: [sink], keys: KEYS, delivery: { retries: 3, ...fast } });
    for (let i = 0; i < 10; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    await auditor.flush();
    expect(sink.calls).toBe(4); // one write, three retries
    expect(auditor.stats()).toMatchObject({ dropped: 10, retried: 30, failed: 4, delivered: 0 });
    sink.down = false;
    auditor.record({ type: 'app.thing.success', reason: '10' });
    await auditor.flush();
    expect(numbered(sink.events)).toEqual([10]);
    expect(sink.events.at(-1)).toMatchObject({
      type: 'audit.delivery.failure',
      reason: 'events_dropped',
      delivery: { sink: 'flaky', dropped: 10 },
    });
  });

  test('block: a failing write is retried until the sink accepts, and nothing is dropped', async () => {
    const sink = flakySink();
    sink.down = true;
    const auditor = createAuditor({
      sinks: [sink],
      keys: KEYS,
      delivery: { overflow: 'block', retries: 0, ...fast },
    });
    for (let i = 0; i < 20; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    await sleep(100);
    expect(sink.calls).toBeGreaterThan(3);
    sink.down = false;
    await auditor.flush();
    expect(numbered(sink.events)).toEqual(range(20));
    expect(auditor.stats()).toMatchObject({ dropped: 0, delivered: 20 });
  });

  test('spill: a sink down for a while under load gets every event exactly once and in order after it recovers', async () => {
    const spillDir = mkdtempSync(join(tmpdir(), 'authtrail-spill-'));
    const sink = flakySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: KEYS,
      delivery: { overflow: 'spill', spillDir, maxQueue: 200, maxBatch: 100, ...fast },
    });
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      if (i === 2_000) sink.down = true; // the collector goes away under load ...
      if (i === 14_000) sink.down = false; // ... and comes back
      auditor.record({ type: 'app.thing.success', reason: String(i) });
      if (i % 250 === 0) await sleep(1);
    }
    await auditor.flush();
    const got = numbered(sink.events);
    expect(got.length).toBe(total);
    expect(got).toEqual(range(total));
    const stats = auditor.stats();
    expect(stats.spilled).toBeGreaterThan(0);
    expect(stats.dropped).toBe(0);
    expect(stats.failed).toBeGreaterThan(0);
    // Replayed to the end: the spill files are gone.
    expect(readdirSync(spillDir)).toEqual([]);
    await auditor.close();
  });
});

describe('queue full', () => {
  test('drop: the counted drops equal the events missing at the sink', async () => {
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const got: AuditEvent[] = [];
    const slow: Sink = {
      name: 'slow',
      async write(batch) {
        await gate;
        got.push(...batch.events);
      },
    };
    const auditor = createAuditor({
      sinks: [slow],
      keys: KEYS,
      delivery: { maxQueue: 300, ...fast },
    });
    const total = 5_000;
    for (let i = 0; i < total; i++) {
      auditor.record({ type: 'app.thing.success', reason: String(i) });
      if (i % 500 === 499) {
        await turn();
        release(); // the sink takes one batch now and then
        gate = new Promise<void>((r) => (release = r));
      }
    }
    release();
    gate = Promise.resolve();
    await auditor.flush();
    const delivered = numbered(got);
    const { dropped, enqueued } = auditor.stats();
    expect(dropped).toBeGreaterThan(0);
    // Every event recorded (the drop reports included: they can be dropped too, and are then
    // counted in the next report) was delivered or counted as dropped.
    expect(got.length + dropped).toBe(enqueued);
    expect(enqueued).toBeGreaterThan(total);
    expect(new Set(delivered).size).toBe(delivered.length); // no duplicates
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b)); // in order
    const reports = got.filter((e) => e.type === 'audit.delivery.failure');
    const reported = reports.reduce((n, e) => n + e.delivery!.dropped, 0);
    const droppedReports = enqueued - total - reports.length;
    expect(reported).toBe(dropped); // every drop was reported, once
    expect(total - delivered.length).toBe(dropped - droppedReports);
  });

  test('maxBytes bounds the queue as well as maxQueue', async () => {
    const never: Sink = { name: 'never', write: () => new Promise(() => {}) };
    const auditor = createAuditor({
      sinks: [never],
      keys: KEYS,
      delivery: { maxQueue: 1_000_000, maxBytes: 64 * 1024, ...fast },
      limits: { maxStringLength: 1024 },
    });
    auditor.record({ type: 'app.first.success' });
    await turn(); // in the sink, forever
    for (let i = 0; i < 1000; i++)
      auditor.record({ type: 'app.thing.success', source: { user_agent: 'a'.repeat(1000) } });
    await turn();
    const { queued, dropped } = auditor.stats();
    expect(queued).toBeLessThan(70); // about 1.2 KB a line: 64 KiB hold ~55
    expect(dropped).toBe(1000 - queued);
  });

  test('spill: events that did not fit are replayed in order by the next process after a restart', async () => {
    const spillDir = mkdtempSync(join(tmpdir(), 'authtrail-spill-'));
    const down: Sink = { name: 'siem', write: () => Promise.reject(new Error('down')) };
    const first = createAuditor({
      service: 'orders',
      sinks: [down],
      keys: KEYS,
      delivery: { overflow: 'spill', spillDir, maxQueue: 10, ...fast, closeTimeoutMs: 50 },
    });
    for (let i = 0; i < 50; i++) first.record({ type: 'app.thing.success', reason: String(i) });
    await first.close();
    expect(readdirSync(spillDir)).toContain('orders.0-siem.jsonl');

    const up = memorySink();
    Object.defineProperty(up, 'name', { value: 'siem' });
    const second = createAuditor({
      service: 'orders',
      sinks: [up],
      keys: KEYS,
      delivery: { overflow: 'spill', spillDir, maxQueue: 10, ...fast },
    });
    for (let i = 50; i < 60; i++) second.record({ type: 'app.thing.success', reason: String(i) });
    await second.flush();
    expect(numbered(up.events)).toEqual(range(60));
    expect(existsSync(join(spillDir, 'orders.0-siem.jsonl'))).toBe(false);
    await second.close();
  });

  test('block: a new request waits at the middleware until the queue has room', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: AuditEvent[] = [];
    const gated: Sink = {
      name: 'gated',
      async write(batch) {
        await gate;
        got.push(...batch.events);
      },
    };
    const auditor = createAuditor({
      sinks: [gated],
      keys: KEYS,
      delivery: { overflow: 'block', maxQueue: 5, ...fast },
    });
    const app = express();
    app.use(authtrail({ auditor }));
    app.get('/api/items', (_req, res) => res.json([]));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/items`;
    const auth = { authorization: 'Bearer opaque-token-0123456789' };
    await fetch(url, { headers: auth }); // its event goes to the sink and waits at the gate
    await sleep(20);
    for (let i = 0; i < 5; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    await turn();
    let answered = false;
    const pending = fetch(url, { headers: auth }).then((r) => {
      answered = true;
      return r.status;
    });
    await sleep(200);
    expect(answered).toBe(false); // held back: the queue is full
    release();
    expect(await pending).toBe(200);
    await auditor.flush();
    expect(auditor.stats().dropped).toBe(0);
    expect(got.filter((e) => e.type === 'api.access.success')).toHaveLength(2);
    server.close();
  });
});

test('spill: events on disk survive a crash (SIGKILL) and are replayed in order by the next process', async () => {
  const spillDir = mkdtempSync(join(tmpdir(), 'authtrail-crash-'));
  const out = join(spillDir, 'delivered.jsonl');
  const script = join(__dirname, 'contract', 'spill-crash.mjs');
  const first = spawn(process.execPath, [script, spillDir, out, 'first'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => createInterface({ input: first.stdout! }).once('line', resolve));
  const killed = new Promise((r) => first.once('exit', (_code, signal) => r(signal)));
  first.kill('SIGKILL');
  expect(await killed).toBe('SIGKILL');
  await promisify(execFile)(process.execPath, [script, spillDir, out, 'second']);
  const replayed = readFileSync(out, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);
  expect(numbered(replayed)).toEqual(range(100));
});

describe('close', () => {
  test('drop: a failing sink gets closeTimeoutMs, then what is left is dropped and counted', async () => {
    const sink = flakySink();
    sink.down = true;
    const auditor = createAuditor({
      sinks: [sink],
      keys: KEYS,
      delivery: { retries: 1000, ...fast, closeTimeoutMs: 150 },
    });
    for (let i = 0; i < 30; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    const t0 = Date.now();
    await auditor.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(auditor.stats()).toMatchObject({ dropped: 30, delivered: 0 });
  });
});

describe('process signals', () => {
  const APP = join(__dirname, 'contract', 'sigterm-app.mjs');

  async function startApp(file: string, ...args: string[]) {
    const child = spawn(process.execPath, [APP, file, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<string>((resolve) => lines.once('line', resolve));
    return { child, lines, port: Number(port) };
  }

  test('SIGTERM mid-load loses nothing: every answered request has its event on disk', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'authtrail-sigterm-')), 'audit.jsonl');
    const { child, port } = await startApp(file);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const answered: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `req-${w}-${i}`;
        const ok = await new Promise<boolean>((resolve) => {
          const req = http.get(
            {
              host: '127.0.0.1',
              port,
              path: '/api/items',
              agent,
              headers: { authorization: 'Bearer opaque-token-0123456789', 'x-request-id': id },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200));
              res.on('error', () => resolve(false));
            },
          );
          req.on('error', () => resolve(false));
        });
        if (!ok) return;
        answered.push(id);
      }
    };
    const workers = Array.from({ length: 20 }, (_, w) => worker(w));
    await sleep(700);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM'); // the signal took its course after the flush
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    const onDisk = new Set(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as AuditEvent).http?.request_id),
    );
    expect(answered.length).toBeGreaterThan(200);
    expect(answered.filter((id) => !onDisk.has(id))).toEqual([]);
  });

  test("with the app's own SIGTERM listener, authtrail flushes and the app decides when to exit", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'authtrail-sigterm-')), 'audit.jsonl');
    const { child, lines, port } = await startApp(file, 'own-listener');
    for (let i = 0; i < 20; i++)
      await fetch(`http://127.0.0.1:${port}/api/items`, {
        headers: { authorization: 'Bearer opaque-token-0123456789', 'x-request-id': `r${i}` },
      });
    const said = new Promise<string>((resolve) => lines.once('line', resolve));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await said).toBe('app-sigterm');
    expect(await exited).toBe(0); // the app's own exit, not the signal's
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(20);
  });
});

test('a process that ends by itself writes what is still queued (beforeExit); without the handling it would not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authtrail-exit-'));
  const run = promisify(execFile);
  const script = join(__dirname, 'contract', 'exit-by-itself.mjs');
  await run(process.execPath, [script, join(dir, 'a.jsonl')]);
  expect(readFileSync(join(dir, 'a.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(100);
  await run(process.execPath, [script, join(dir, 'b.jsonl'), 'no-handling']);
  expect(existsSync(join(dir, 'b.jsonl'))).toBe(false);
});

test('memory stays bounded while the only sink is dead', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    join(__dirname, 'contract', 'dead-sink-memory.mjs'),
    '50000',
  ]);
  const { grewMb, stats } = JSON.parse(stdout) as {
    grewMb: number;
    stats: { dropped: number; queued: number };
  };
  // 50,000 events of ~2 KB would be ~100 MB held; the queue keeps 1000 of them (~2-4 MB).
  // Held: the queue (1000) and the batch the dead sink never answered (maxBatch, 512).
  expect(stats.queued).toBeLessThanOrEqual(1000);
  expect(stats.dropped).toBeGreaterThanOrEqual(50_000 - 1000 - 512);
  expect(grewMb).toBeLessThan(16);
});
