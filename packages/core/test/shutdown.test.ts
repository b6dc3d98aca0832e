// close() ends within closeTimeoutMs whatever the sinks do, and SIGTERM ends the process (issue 14,
// item 4): a real collector that accepts connections and never answers, and a real pipe nobody reads.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createAuditor, httpSink, type AuditEvent } from '@authtrail/core';

const KEYS = { fingerprint: 'contract-test-fingerprint-key-0123456789' };
const CLOSE_TIMEOUT_MS = 200;
/** What close() may take beyond closeTimeoutMs (queue.ts CLOSE_MARGIN_MS), plus scheduling slack. */
const WITHIN_MS = CLOSE_TIMEOUT_MS + 200 + 400;

/** A collector that takes every request and never answers it. */
async function silentCollector(): Promise<{
  url: string;
  requests: () => number;
  stop: () => void;
}> {
  let requests = 0;
  const server = http.createServer(() => void requests++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    requests: () => requests,
    stop: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const numbered = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.type === 'app.thing.success').map((e) => e.reason);

describe('close() with a collector that never answers', () => {
  test('drop: close() ends within closeTimeoutMs and counts the unanswered batch as dropped', async () => {
    const collector = await silentCollector();
    const auditor = createAuditor({
      sinks: [httpSink(collector.url)], // timeoutMs 10 s: the write would wait that long
      keys: KEYS,
      delivery: { closeTimeoutMs: CLOSE_TIMEOUT_MS, handleSignals: false },
    });
    for (let i = 0; i < 10; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    while (collector.requests() === 0) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await auditor.close();
    expect(performance.now() - t0).toBeLessThan(WITHIN_MS);
    expect(auditor.stats()).toMatchObject({ enqueued: 10, delivered: 0, dropped: 10 });
    collector.stop();
  });

  test('spill: close() ends in time, the unanswered batch is in the spill file, and the next process delivers it', async () => {
    const collector = await silentCollector();
    const dir = join(mkdtempSync(join(tmpdir(), 'authtrail-close-')), 'spill');
    const auditor = createAuditor({
      service: 'svc',
      sinks: [httpSink(collector.url)],
      keys: KEYS,
      delivery: {
        overflow: 'spill',
        spillDir: dir,
        closeTimeoutMs: CLOSE_TIMEOUT_MS,
        handleSignals: false,
      },
    });
    for (let i = 0; i < 10; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    while (collector.requests() === 0) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await auditor.close();
    expect(performance.now() - t0).toBeLessThan(WITHIN_MS);
    expect(auditor.stats()).toMatchObject({ delivered: 0, dropped: 0, spilled: 10 });
    const spilled = readFileSync(join(dir, 'svc.0-http.head.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(numbered(spilled)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    collector.stop();

    const out = join(dir, '..', 'delivered.jsonl');
    await promisify(execFile)(
      process.execPath,
      [join(__dirname, 'contract', 'spill-replay.mjs'), dir, out, 'svc', 'http'],
      { timeout: 20_000 },
    );
    const delivered = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(numbered(delivered)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });
});

test('a script that awaits close() with its sink down sees it through: close resolves, the events are in the spill file', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'authtrail-close-')), 'spill');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(__dirname, 'contract', 'close-in-script.mjs'), dir],
    { timeout: 20_000 },
  );
  expect(JSON.parse(stdout)).toMatchObject({ enqueued: 20, spilled: 20, dropped: 0 });
  const spilled = ['job.0-siem.head.jsonl', 'job.0-siem.jsonl']
    .filter((f) => existsSync(join(dir, f)))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as AuditEvent);
  expect(numbered(spilled)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
});

test('SIGTERM ends a process whose stdout sink writes into a pipe nobody reads, killed by the signal, within the deadline', async () => {
  const child = spawn(
    process.execPath,
    [join(__dirname, 'contract', 'stdout-stuck.mjs'), String(CLOSE_TIMEOUT_MS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // stdout is never read: the pipe (and the reader's buffer) fill up, and the sink's write waits.
  await new Promise((r) => createInterface({ input: child.stderr! }).once('line', r));
  const exited = new Promise<{ signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    const t0 = performance.now();
    child.once('exit', (_code, signal) => resolve({ signal, ms: performance.now() - t0 }));
  });
  child.kill('SIGTERM');
  const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const { signal, ms } = await exited;
  clearTimeout(stuck);
  expect(signal).toBe('SIGTERM');
  expect(ms).toBeLessThan(WITHIN_MS + 500); // + process teardown
});

test('a second signal while closing on the first ends the process at once (Ctrl-C pressed again)', async () => {
  const child = spawn(
    process.execPath,
    [join(__dirname, 'contract', 'stdout-stuck.mjs'), '60000'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise((r) => createInterface({ input: child.stderr! }).once('line', r));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
  child.kill('SIGTERM'); // closing would wait up to closeTimeoutMs: 60 s
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
  expect(await exited).toBe('SIGINT');
  clearTimeout(stuck);
});

test('an app that loads both the ESM and the CommonJS build of core gets one SIGTERM listener, removed when the last auditor closes', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(__dirname, 'contract', 'both-builds.mjs'),
  ]);
  // Two module copies, one registry: a second listener made each copy count the other as the
  // app's own, so on SIGTERM both only flushed and nobody closed the chains or ended the process.
  expect(JSON.parse(stdout)).toEqual({ twoCopies: true, open: [1, 1, 1], closed: [0, 0, 0] });
});
