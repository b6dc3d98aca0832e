// `authtrail ingest --follow` against a real writer: a child process whose auditor writes through a
// rotating fileSink, while the built CLI follows the log into a schema of its own on the machine's
// PostgreSQL and is killed (SIGKILL) twice on the way. Every event must be in the store once.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import pg from 'pg';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_ingest_${randomBytes(5).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'authtrail-ingest-'));
const admin = new pg.Client({ connectionString: PG_URL });

/** A service writing `count` events (user ids w-0 ...), a few at a time, rotating every 8 KB. */
function writer(log: string, count: number, rotate = true): ChildProcess {
  const script = `
    import { createAuditor, fileSink } from '@authtrail/core';
    const auditor = createAuditor({
      sinks: [fileSink(${JSON.stringify(log)}, ${rotate ? '{ maxBytes: 8192, maxFiles: 500 }' : '{}'})],
      keys: { fingerprint: 'ingest-test-fingerprint-key-0123456789' },
      service: 'ingest-test',
    });
    for (let i = 0; i < ${count}; i++) {
      auditor.record({ type: 'authn.login.failure', reason: 'invalid_credentials', user: { id: 'w-' + i } });
      if (i % 20 === 19) { await auditor.flush(); await new Promise((r) => setTimeout(r, 15)); }
    }
    await auditor.close();`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function ingest(
  ...args: string[]
): ChildProcess & { output: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(
    process.execPath,
    [CLI, 'ingest', ...args, '--store', PG_URL, '--schema', SCHEMA],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AUTHTRAIL_STORE: '' } },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const output = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return Object.assign(child, { output });
}

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, AUTHTRAIL_STORE: '' },
    });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

/** How many rows each writer event has in the store. */
async function copies(): Promise<Map<string, number>> {
  const exists = await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [SCHEMA]);
  if (exists.rowCount === 0) return new Map();
  const table = await admin.query(`SELECT to_regclass($1) AS t`, [`"${SCHEMA}".authtrail_events`]);
  if (table.rows[0].t === null) return new Map();
  const { rows } = await admin.query<{ user_id: string; n: string }>(
    `SELECT user_id, count(*) AS n FROM "${SCHEMA}".authtrail_events GROUP BY user_id`,
  );
  return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
}
const total = async () => [...(await copies()).values()].reduce((a, b) => a + b, 0);

async function until(what: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(50);
  }
}

beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

test('a usage error names what to give (exit 2)', async () => {
  const { code, stderr } = await cli(['ingest', '--store', PG_URL]);
  expect(code).toBe(2);
  expect(stderr).toContain('ingest: give one file');
});

test('follows a rotating log through two SIGKILLs: every event stored exactly once', async () => {
  const log = join(dir, 'audit.jsonl');
  const COUNT = 2400;
  const app = writer(log, COUNT);
  const appDone = new Promise((resolve) => app.on('close', resolve));
  await until(async () => existsSync(log), 10_000);

  let follower = ingest('--follow', log, '--batch', '40');
  let writing = 0;
  for (const at of [300, 1200]) {
    await until(async () => (await total()) >= at, 30_000);
    if (app.exitCode === null) writing++;
    follower.kill('SIGKILL');
    await follower.output;
    follower = ingest('--follow', log, '--batch', '40');
  }
  // Killed while the service was still writing (and rotating), not after.
  expect(writing).toBeGreaterThan(0);
  await appDone;
  await until(async () => (await total()) >= COUNT, 30_000);
  // A moment more: a duplicate would show up after the count is reached.
  await sleep(600);
  follower.kill('SIGTERM');
  const { code, stderr } = await follower.output;
  expect(code).toBe(0);
  expect(stderr).toContain('from where it stopped');

  const stored = await copies();
  expect(stored.size).toBe(COUNT);
  for (let i = 0; i < COUNT; i++) expect(stored.get(`w-${i}`)).toBe(1);
  // The writer rotated many times, and the position sits beside the log, hidden.
  expect(readdirSync(dir).filter((f) => /^audit\.jsonl\.\d+$/.test(f)).length).toBeGreaterThan(5);
  expect(existsSync(join(dir, '.audit.jsonl.ingest.json'))).toBe(true);
}, 120_000);

test('without --follow it stops at the log end; run again, it stores nothing twice', async () => {
  const log = join(dir, 'once.jsonl');
  const app = writer(log, 100, false);
  await new Promise((resolve) => app.on('close', resolve));
  const state = join(dir, 'once.state');
  const first = await ingest(log, '--state', state).output;
  expect(first.code).toBe(0);
  expect(first.stderr).toContain('100 events: 100 inserted, 0 already stored, 0 rejected');
  const again = await ingest(log, '--state', state).output;
  expect(again.code).toBe(0);
  expect(again.stderr).toContain('0 events: 0 inserted');
  // A line that is not an event, appended: reported with its line, exit 1.
  writeFileSync(log, '{"not":"an event"}\n', { flag: 'a' });
  const third = await ingest(log, '--state', state).output;
  expect(third.code).toBe(1);
  expect(third.stderr).toContain(`${log}:101: not an authtrail event`);
});

test('a first run starts at the oldest rotated file; a compressed one is skipped with a notice', async () => {
  const log = join(dir, 'rotated.jsonl');
  const app = writer(log, 300);
  await new Promise((resolve) => app.on('close', resolve));
  const rotated = readdirSync(dir).filter((f) => /^rotated\.jsonl\.\d+$/.test(f));
  expect(rotated.length).toBeGreaterThan(3);
  // The oldest compressed in place by another tool (same name, gzip content).
  const oldest = join(dir, `rotated.jsonl.${rotated.length}`);
  const lines = readFileSync(oldest, 'utf8').split('\n').filter(Boolean).length;
  writeFileSync(oldest, gzipSync(readFileSync(oldest)));
  const { code, stderr } = await ingest(log, '--state', join(dir, 'rotated.state')).output;
  expect(code).toBe(0);
  expect(stderr).toContain(
    `${oldest} is compressed (by logrotate?): skipped; give it to authtrail import`,
  );
  expect(stderr).toContain(`${300 - lines} events: ${300 - lines} inserted`);
});

test('when the file of the saved position is gone, it reads the log again from the oldest file, storing nothing twice', async () => {
  const log = join(dir, 'rotated.jsonl');
  rmSync(log);
  const app = writer(log, 50);
  await new Promise((resolve) => app.on('close', resolve));
  const { code, stderr } = await ingest(log, '--state', join(dir, 'rotated.state')).output;
  expect(code).toBe(0);
  expect(stderr).toContain('the file of the saved position is gone');
  expect(stderr).toMatch(/ events: 50 inserted, \d+ already stored, 0 rejected/);
});

test("another store's state is refused rather than used", async () => {
  const log = join(dir, 'once.jsonl');
  const { code, stderr } = await cli([
    'ingest',
    log,
    '--state',
    join(dir, 'once.state'),
    '--store',
    PG_URL,
    '--schema',
    `${SCHEMA}_other`,
  ]);
  expect(code).toBe(2);
  expect(stderr).toContain('is the state of another store');
});
