// Spill replay never crashes or spins (issue 14, item 2). Spill directories are made by hand the way
// a crash, a disk or a second process leaves them, and a real process replays them: it must not
// crash, must finish in bounded time and CPU, must deliver what is readable in order, and must
// quarantine and report what is not.
import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createAuditor, type AuditEvent, type AuditorStats, type Sink } from '@authtrail/core';

const run = promisify(execFile);
const REPLAY = join(__dirname, 'contract', 'spill-replay.mjs');
const WORKER = join(__dirname, 'contract', 'spill-worker.mjs');
const KEYS = { fingerprint: 'contract-test-fingerprint-key-0123456789' };
const fast = { minRetryDelayMs: 5, maxRetryDelayMs: 20, handleSignals: false } as const;

/** A spilled line as authtrail writes it. */
const line = (reason: string) =>
  JSON.stringify({
    schema: 1,
    id: `0190c0de-0000-7000-8000-${reason.padStart(12, '0')}`,
    time: '2026-12-07T10:00:00.000Z',
    type: 'app.thing.success',
    outcome: 'success',
    observer: { role: 'rs', service: 'svc', instance: 'i-1', adapter: 'core' },
    reason,
  }) + '\n';
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => line(String(from + i))).join('');
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => String(from + i));

interface Replay {
  stats: AuditorStats;
  cpuMs: number;
  ms: number;
  delivered: AuditEvent[];
}

/** Replays `dir` in a new process with the sink up; fails if it crashes or does not end within 20 s. */
async function replay(dir: string): Promise<Replay> {
  const out = join(dir, '..', `delivered-${Date.now()}-${Math.random()}.jsonl`);
  const { stdout } = await run(process.execPath, [REPLAY, dir, out], { timeout: 20_000 });
  const delivered = existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEvent)
    : [];
  return { ...(JSON.parse(stdout) as Omit<Replay, 'delivered'>), delivered };
}

const reasons = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.type === 'app.thing.success').map((e) => e.reason);
const reports = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.reason === 'spill_unreadable');

function spillDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'authtrail-spill-')), 'spill');
}

function prepare(files: Record<string, string | Buffer>): string {
  const dir = spillDir();
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

/** No spin: a replay of a few records takes well under a second of CPU (a spin takes all of it). */
function expectBounded(r: Replay): void {
  expect(r.cpuMs).toBeLessThan(2_000);
}

describe('replay of what it cannot read', () => {
  test('a corrupt line in the middle is quarantined and counted, and everything around it is delivered in order', async () => {
    const garbage = '{"schema":1,"id":"x", this is not JSON\n';
    const dir = prepare({ 'svc.0-siem.jsonl': lines(0, 5) + garbage + lines(5, 10) });
    const r = await replay(dir);
    expectBounded(r);
    expect(reasons(r.delivered)).toEqual(range(0, 10));
    const quarantine = join(dir, 'svc.0-siem.quarantine');
    expect(reports(r.delivered)).toEqual([
      expect.objectContaining({
        type: 'audit.delivery.failure',
        outcome: 'failure',
        delivery: { sink: 'siem', dropped: 0, quarantined: 1, quarantine_file: quarantine },
      }),
    ]);
    expect(r.stats.quarantined).toBe(1);
    expect(r.stats.sinks.siem!.quarantined).toBe(1);
    expect(readFileSync(quarantine, 'utf8')).toBe(garbage);
    // Replayed to the end: only the quarantine file is left.
    expect(readdirSync(dir)).toEqual(['svc.0-siem.quarantine']);
  });

  test('lines that are JSON but not events (an array, a string, an object without the event fields) are quarantined too', async () => {
    const odd = '[1,2]\n"text"\n{"type":"app.thing.success"}\nnull\n';
    const dir = prepare({ 'svc.0-siem.jsonl': lines(0, 3) + odd + lines(3, 6) });
    const r = await replay(dir);
    expect(reasons(r.delivered)).toEqual(range(0, 6));
    expect(r.stats.quarantined).toBe(4);
    expect(reports(r.delivered)[0]!.delivery!.quarantined).toBe(4);
  });

  test('a torn last line (a crash mid-append) is quarantined at once, never waited on', async () => {
    const torn = line('10').slice(0, 70); // no newline: the append was cut short
    const dir = prepare({ 'svc.0-siem.jsonl': lines(0, 10) + torn });
    const r = await replay(dir);
    expectBounded(r);
    expect(reasons(r.delivered)).toEqual(range(0, 10));
    expect(r.stats.quarantined).toBe(1);
    expect(readFileSync(join(dir, 'svc.0-siem.quarantine'), 'utf8')).toBe(torn + '\n');
  });

  test('a torn line with a read position already past part of the file: replay resumes at the position and still ends', async () => {
    const first = lines(0, 5);
    const dir = prepare({
      'svc.0-siem.jsonl': first + lines(5, 8) + '{"schema":1,"id":"tor',
      'svc.0-siem.jsonl.offset': String(Buffer.byteLength(first)),
    });
    const r = await replay(dir);
    expectBounded(r);
    expect(reasons(r.delivered)).toEqual(range(5, 8));
    expect(r.stats.quarantined).toBe(1);
  });

  test('a record over the 4 MiB cap is skipped to its newline and quarantined, in bounded time and memory, and what follows is delivered', async () => {
    const huge = '{"schema":1,"junk":"' + 'a'.repeat(5 * 1024 * 1024) + '"}\n';
    const hugeTorn = '{"junk":"' + 'b'.repeat(5 * 1024 * 1024); // and one more at the end, torn
    const dir = prepare({
      'svc.0-siem.jsonl': Buffer.concat([
        Buffer.from(lines(0, 3)),
        Buffer.from(huge),
        Buffer.from(lines(3, 6)),
        Buffer.from(hugeTorn),
      ]),
    });
    const r = await replay(dir);
    expectBounded(r);
    expect(reasons(r.delivered)).toEqual(range(0, 6));
    expect(r.stats.quarantined).toBe(2);
    const quarantined = readFileSync(join(dir, 'svc.0-siem.quarantine'), 'utf8');
    expect(quarantined).toBe(huge + hugeTorn + '\n');
  });

  test('an event spilled behind a torn line (the next run appended after the crash) is delivered', async () => {
    // A crash tore the last line of the head file; the next process ended it and appended behind it.
    const dir = prepare({
      'svc.0-siem.head.jsonl': lines(0, 3) + line('3').slice(0, 40),
      'svc.0-siem.jsonl': lines(4, 6),
    });
    // The first process to start only spills (its sink is down) and is killed: it ends the torn line
    // and appends its own events in another slot.
    const out = join(dir, '..', 'never.jsonl');
    const child = spawn(process.execPath, [WORKER, dir, out, 'late', '5', '0', 'hold'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => createInterface({ input: child.stdout! }).once('line', r));
    const killed = new Promise((r) => child.once('exit', (_c, s) => r(s)));
    child.kill('SIGKILL');
    expect(await killed).toBe('SIGKILL');
    expect(readFileSync(join(dir, 'svc.0-siem.head.jsonl'), 'utf8').endsWith('\n')).toBe(true);

    const r = await replay(dir);
    expectBounded(r);
    expect(reasons(r.delivered)).toEqual([
      ...range(0, 3),
      ...range(4, 6),
      ...['late-0', 'late-1', 'late-2', 'late-3', 'late-4'],
    ]);
    expect(r.stats.quarantined).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['svc.0-siem.quarantine']);
  });

  test('a spill file that cannot be opened (a directory in its place) is left for an operator, and the process starts and replays the rest', async () => {
    const dir = prepare({ 'svc.0-siem~1.jsonl': lines(0, 3) });
    mkdirSync(join(dir, 'svc.0-siem.jsonl'));
    const r = await replay(dir);
    expect(reasons(r.delivered)).toEqual(range(0, 3));
    expect(readdirSync(dir)).toEqual(['svc.0-siem.jsonl']);
  });
});

describe('spill files are owned per process', () => {
  /** A sink that fails while `down`, and keeps what it got. */
  function flaky(): Sink & { down: boolean; events: AuditEvent[] } {
    const sink = {
      name: 'siem',
      down: true,
      events: [] as AuditEvent[],
      async write(batch: { events: readonly AuditEvent[] }) {
        await new Promise((r) => setImmediate(r));
        if (sink.down) throw new Error('collector down');
        sink.events.push(...batch.events);
      },
    };
    return sink;
  }

  test('two auditors of one service sharing spillDir in one process spill to different files, and each delivers its own events once, in order', async () => {
    const dir = spillDir();
    const sinks = [flaky(), flaky()];
    const auditors = sinks.map((sink) =>
      createAuditor({
        service: 'svc',
        sinks: [sink],
        keys: KEYS,
        delivery: { overflow: 'spill', spillDir: dir, maxQueue: 5, ...fast },
      }),
    );
    for (let i = 0; i < 200; i++)
      auditors.forEach((a, n) => a.record({ type: 'app.thing.success', reason: `${n}-${i}` }));
    await until(() => auditors.every((a) => a.stats().spilled === 200));
    // Two slots, each with its own lock.
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.lock'))
        .sort(),
    ).toEqual(['svc.0-siem.lock', 'svc.0-siem~1.lock']);
    for (const sink of sinks) sink.down = false;
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(auditors.map((a) => a.flush()));
    sinks.forEach((sink, n) =>
      expect(reasons(sink.events)).toEqual(Array.from({ length: 200 }, (_, i) => `${n}-${i}`)),
    );
    expect(readdirSync(dir)).toEqual([]);
    await Promise.all(auditors.map((a) => a.close()));
  });

  test('two processes sharing spillDir (cluster workers) never touch each other’s files: each delivers its own events once, in order, and neither crashes', async () => {
    const dir = spillDir();
    const outs = ['a', 'b'].map((tag) => join(dir, '..', `${tag}.jsonl`));
    const results = await Promise.all(
      ['a', 'b'].map((tag, n) =>
        run(process.execPath, [WORKER, dir, outs[n]!, tag, '300', '400'], { timeout: 20_000 }),
      ),
    );
    for (const [n, tag] of ['a', 'b'].entries()) {
      const got = readFileSync(outs[n]!, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEvent);
      expect(reasons(got)).toEqual(Array.from({ length: 300 }, (_, i) => `${tag}-${i}`));
      expect(JSON.parse(results[n]!.stdout)).toMatchObject({ spilled: expect.any(Number) });
      expect((JSON.parse(results[n]!.stdout) as AuditorStats).spilled).toBeGreaterThan(0);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a lock left by a dead process is stale: the next process takes the slot over and replays its files', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    const pid = dead.pid!;
    await new Promise((r) => dead.once('exit', r));
    const dir = prepare({
      'svc.0-siem.jsonl': lines(0, 10),
      'svc.0-siem.lock': `${pid} 0123456789abcdef\n`,
      // a lock half-written by a process that died at that moment: stale too
      'svc.0-siem~1.jsonl': lines(10, 12),
      'svc.0-siem~1.lock': '',
    });
    const r = await replay(dir);
    expect(reasons(r.delivered)).toEqual(range(0, 12));
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a slot whose lock names a live process is left alone', async () => {
    const dir = prepare({
      'svc.0-siem.jsonl': lines(0, 3),
      'svc.0-siem.lock': `${process.pid} 0123456789abcdef\n`, // this test's process
    });
    const r = await replay(dir);
    expect(r.delivered).toEqual([]);
    expect(readFileSync(join(dir, 'svc.0-siem.jsonl'), 'utf8')).toBe(lines(0, 3));
  });
});

test('nothing spilled is larger than the documented bound of an event line, however large the manual event', async () => {
  const dir = spillDir();
  const wide = (depth: number): unknown =>
    depth === 0
      ? 'x'.repeat(512)
      : Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, wide(depth - 1)]));
  const auditor = createAuditor({
    service: 'svc',
    sinks: [{ name: 'siem', write: () => Promise.reject(new Error('down')) }],
    keys: KEYS,
    delivery: { overflow: 'spill', spillDir: dir, maxQueue: 1, ...fast, closeTimeoutMs: 50 },
  });
  const source = wide(3) as never; // ~64 MB of JSON if it were kept whole
  for (let i = 0; i < 3; i++) auditor.record({ type: 'app.big.success', source });
  await auditor.close();
  const spilled = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
  expect(spilled).toHaveLength(3);
  for (const l of spilled) expect(Buffer.byteLength(l) + 1).toBeLessThanOrEqual(92_582);
});

describe('file modes', () => {
  test('spill, lock and quarantine files are 0600 and the spill directory 0700, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const dir = spillDir();
      const sink = { name: 'siem', down: true, events: [] as AuditEvent[] };
      const auditor = createAuditor({
        service: 'svc',
        sinks: [
          {
            name: 'siem',
            async write(batch) {
              if (sink.down) throw new Error('down');
              sink.events.push(...batch.events);
            },
          },
        ],
        keys: KEYS,
        delivery: { overflow: 'spill', spillDir: dir, maxQueue: 2, ...fast, closeTimeoutMs: 50 },
      });
      for (let i = 0; i < 20; i++) auditor.record({ type: 'app.thing.success', reason: `${i}` });
      const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;
      await until(() =>
        ['svc.0-siem.jsonl', 'svc.0-siem.head.jsonl'].every((f) => existsSync(join(dir, f))),
      );
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(mode('svc.0-siem.jsonl')).toBe(0o600);
      expect(mode('svc.0-siem.head.jsonl')).toBe(0o600);
      expect(mode('svc.0-siem.lock')).toBe(0o600);
      await auditor.close();
      // A record the replay cannot read, for the quarantine file.
      appendFileSync(join(dir, 'svc.0-siem.jsonl'), 'not json\n');
      sink.down = false;
      const second = createAuditor({
        service: 'svc',
        sinks: [{ name: 'siem', write: (b) => void sink.events.push(...b.events) }],
        keys: KEYS,
        delivery: { overflow: 'spill', spillDir: dir, ...fast },
      });
      await second.flush();
      expect(mode('svc.0-siem.quarantine')).toBe(0o600);
      expect(second.stats().quarantined).toBe(1);
      await second.close();
    } finally {
      process.umask(old);
    }
  });
});
