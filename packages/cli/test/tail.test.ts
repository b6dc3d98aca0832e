// `authtrail tail` as a user runs it (the built CLI): over a log a real auditor writes through a
// rotating fileSink, and over a schema of its own on the machine's PostgreSQL, with -f following both.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { createAuditor, fileSink, memorySink, type AuditEvent } from '@authtrail/core';
import { storeSink } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_tail_${randomBytes(5).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'authtrail-tail-'));
const LOG = join(dir, 'audit.jsonl');
/** The same events, in one file that never rotates. */
const ALL = join(dir, 'all.jsonl');
const HOSTILE = 'evil\x1b[31mRED\u202e';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'tail', ...args], {
      env: { ...process.env, NO_COLOR: '', AUTHTRAIL_STORE: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A running `tail -f`: its standard output as it comes. */
function following(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'tail', '-f', ...args], {
    env: { ...process.env, NO_COLOR: '', AUTHTRAIL_STORE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((resolve) => child.on('close', resolve));
  return {
    lines: () => out.split('\n').filter(Boolean),
    async until(n: number) {
      const end = Date.now() + 20_000;
      while (out.split('\n').filter(Boolean).length < n) {
        if (Date.now() > end) throw new Error(`timed out with: ${out}`);
        await sleep(50);
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);

/** An auditor writing `events` to the rotating log and to the store. */
function auditorFor(sinks: NonNullable<Parameters<typeof createAuditor>[0]>['sinks']) {
  return createAuditor({
    sinks,
    keys: { fingerprint: 'tail-test-fingerprint-key-0123456789abc' },
    service: 'tail-test',
  });
}
const attempt = (i: number) => ({
  type: i % 2 === 0 ? 'authn.login.failure' : 'authn.login.success',
  ...(i % 2 === 0 && { reason: i % 4 === 0 ? 'invalid_credentials' : 'mfa_failed' }),
  user: { id: `user-${i}` },
  source: { ip: i % 3 === 0 ? `2001:db8::${i}` : `203.0.113.${i}` },
});

let store: ReturnType<typeof postgresStore>;
let written: AuditEvent[] = [];

beforeAll(async () => {
  store = postgresStore({ connectionString: PG_URL, schema: SCHEMA });
  const copy = memorySink();
  const auditor = auditorFor([
    fileSink(LOG, { maxBytes: 2048, maxFiles: 50 }),
    fileSink(ALL),
    storeSink(store, { closeStore: false }),
    copy,
  ]);
  for (let i = 0; i < 30; i++) {
    auditor.record(attempt(i));
    await auditor.flush();
  }
  await auditor.close();
  written = [...(copy.events as AuditEvent[])];
  // core strips control characters from what it records; another tool's line may hold anything.
  const hostile = {
    ...written[0]!,
    id: '0190a0b0-c0d0-7000-8000-000000000bad',
    user: { id: HOSTILE },
  };
  writeFileSync(ALL, JSON.stringify(hostile) + '\n', { flag: 'a' });
}, 20_000);

afterAll(async () => {
  await store.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('authtrail tail --file', () => {
  test('prints the last n matching events of the file, oldest first, as ndjson when piped', async () => {
    const inFile = parse(readFileSync(ALL, 'utf8'));
    const { code, stdout } = await cli([
      'outcome:failure -reason:mfa_failed',
      '--file',
      ALL,
      '-n',
      '2',
    ]);
    expect(code).toBe(0);
    const expected = inFile
      .filter((e) => e.outcome === 'failure' && e.reason !== 'mfa_failed')
      .slice(-2)
      .map((e) => e.id);
    expect(expected.length).toBe(2);
    expect(parse(stdout).map((e) => e.id)).toEqual(expected);
  });

  test('matches IPv6 CIDR ranges as the store does', async () => {
    const inFile = parse(readFileSync(ALL, 'utf8'));
    const { stdout } = await cli(['ip:2001:db8::/32', '--file', ALL, '-n', '100']);
    const expected = inFile.filter((e) => e.source?.ip?.startsWith('2001:db8::')).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(parse(stdout).map((e) => e.id)).toEqual(expected);
  });

  test('a table escapes what a log line could use to repaint the terminal', async () => {
    const { code, stdout } = await cli(['--file', ALL, '--format', 'table', '-n', '100']);
    expect(code).toBe(0);
    expect(stdout).toContain('evil\\u{1b}[31mRED');
    // eslint-disable-next-line no-control-regex -- no raw ESC may reach the terminal
    expect(stdout).not.toMatch(/[\x1b\u202e]/);
    expect(stdout.split('\n')[0]).toMatch(/^time\s+type\s+outcome/);
  });

  test('a malformed query is a usage error with a caret under the problem (exit 2)', async () => {
    const { code, stderr } = await cli(['user:alice (', '--file', LOG]);
    expect(code).toBe(2);
    expect(stderr).toContain('expected a field:value term, found end of query');
    expect(stderr).toContain('user:alice (\n');
  });

  test('-f prints the last events, then each new matching one, across a rotation', async () => {
    const tail = following(['client:follow-*', '--file', LOG, '-n', '0']);
    await sleep(700);
    const auditor = auditorFor([fileSink(LOG, { maxBytes: 2048, maxFiles: 50 })]);
    for (let i = 0; i < 40; i++) {
      auditor.record({ type: 'authn.login.failure', client: { id: `follow-${i}` } });
      auditor.record({ type: 'authn.login.failure', client: { id: `other-${i}` } });
      await auditor.flush();
    }
    await auditor.close();
    await tail.until(40);
    await sleep(300);
    await tail.stop();
    expect(tail.lines().map((l) => (JSON.parse(l) as AuditEvent).client?.id)).toEqual(
      [...Array(40).keys()].map((i) => `follow-${i}`),
    );
  }, 30_000);
});

describe('authtrail tail (the store)', () => {
  const args = ['--store', PG_URL, '--schema', SCHEMA];

  test('prints the last n matching events, oldest first', async () => {
    const { code, stdout } = await cli(['type:authn.login.* outcome:failure', '-n', '3', ...args]);
    expect(code).toBe(0);
    const expected = written
      .filter((e) => e.outcome === 'failure')
      .slice(-3)
      .map((e) => e.id);
    expect(parse(stdout).map((e) => e.id)).toEqual(expected);
  });

  test('-f polls for new events and prints each once', async () => {
    const tail = following(['client:late-*', '-n', '0', ...args]);
    await sleep(1500);
    const auditor = auditorFor([storeSink(store, { closeStore: false })]);
    for (let i = 0; i < 5; i++) {
      auditor.record({ type: 'authn.login.failure', client: { id: `late-${i}` } });
      await auditor.flush();
    }
    await auditor.close();
    await tail.until(5);
    await sleep(2500); // two more polls: nothing printed twice
    await tail.stop();
    expect(tail.lines().map((l) => (JSON.parse(l) as AuditEvent).client?.id)).toEqual([
      'late-0',
      'late-1',
      'late-2',
      'late-3',
      'late-4',
    ]);
  }, 30_000);

  test('--file and --store together are a usage error', async () => {
    const { code, stderr } = await cli(['--file', LOG, ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain('give --file <path> or --store <url>, not both');
  });
});
