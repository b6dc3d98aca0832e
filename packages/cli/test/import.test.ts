// `authtrail import` runs as a child process (the built CLI) and stores into a schema of its own on
// the machine's PostgreSQL: the files are a log a real auditor wrote through a rotating fileSink
// with a hash chain, one rotated file gzip-compressed as logrotate leaves it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { createAuditor, fileSink } from '@authtrail/core';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_import_${randomBytes(5).toString('hex')}`;
const KEY = 'import-chain-key-0123456789abcdef0123';
const dir = mkdtempSync(join(tmpdir(), 'authtrail-import-'));
const LOG = join(dir, 'audit.jsonl');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '', AUTHTRAIL_STORE: '', AUTHTRAIL_CHAIN_KEY: undefined },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const importing = (...args: string[]) =>
  cli(['import', ...args, '--store', PG_URL, '--schema', SCHEMA]);

const admin = new pg.Client({ connectionString: PG_URL });
async function storedIds(): Promise<string[]> {
  const exists = await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [SCHEMA]);
  if (exists.rowCount === 0) return [];
  const { rows } = await admin.query<{ id: string }>(
    `SELECT id::text FROM "${SCHEMA}".authtrail_events ORDER BY id`,
  );
  return rows.map((r) => r.id);
}
const clear = () => admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);

/** The files of the log, oldest first, as a user lists them: audit.jsonl.3.gz ... audit.jsonl. */
let files: string[] = [];
let ids: string[] = [];

beforeAll(async () => {
  await admin.connect();
  const auditor = createAuditor({
    sinks: [fileSink(LOG, { maxBytes: 4096, maxFiles: 20 })],
    keys: { chain: KEY, fingerprint: KEY },
    service: 'import-test',
  });
  for (let i = 0; i < 60; i++) {
    auditor.record({
      type: i % 3 === 0 ? 'authn.login.failure' : 'authn.login.success',
      ...(i % 3 === 0 && { reason: 'invalid_credentials' }),
      user: { id: `user-${i}` },
      source: { ip: `203.0.113.${i}` },
    });
    if (i % 4 === 3) await auditor.flush();
  }
  await auditor.close();
  const rotated = readdirSync(dir)
    .filter((name) => /^audit\.jsonl\.\d+$/.test(name))
    .sort((a, b) => Number(b.split('.').at(-1)) - Number(a.split('.').at(-1)));
  expect(rotated.length).toBeGreaterThanOrEqual(3);
  files = [...rotated.map((name) => join(dir, name)), LOG];
  ids = files
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean))
    .map((line) => (JSON.parse(line) as { id: string }).id);
  // The second oldest compressed, as logrotate's compress leaves it (the name says nothing).
  writeFileSync(`${files[1]}.gz`, gzipSync(readFileSync(files[1]!)));
  rmSync(files[1]!);
  files[1] = `${files[1]}.gz`;
}, 30_000);

afterAll(async () => {
  await clear();
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('authtrail import: usage', () => {
  test('no file is a usage error (exit 2) with the usage text', async () => {
    const { code, stderr } = await importing();
    expect(code).toBe(2);
    expect(stderr).toContain('import: give the files to import, oldest first');
    expect(stderr).toContain('Usage:');
  });

  test('a missing file stops it before anything is stored (exit 2)', async () => {
    const { code, stderr } = await importing(LOG, join(dir, 'nope.jsonl'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/ENOENT.*nope\.jsonl/);
    expect(await storedIds()).toEqual([]);
  });

  test('--help prints the command help', async () => {
    const { code, stdout } = await cli(['import', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: authtrail import <files...>');
    expect(stdout).toContain('Exit status:');
  });
});

describe('authtrail import', () => {
  beforeAll(clear);

  test('stores every event of a rotated log, gzip file included, and verifies its chain', async () => {
    const { code, stdout, stderr } = await importing(...files, '--key', KEY);
    expect(stderr).toBe(''); // no progress bar when standard error is not a terminal
    expect(code).toBe(0);
    const n = ids.length.toLocaleString('en-US');
    expect(stdout).toMatch(
      new RegExp(
        `^authtrail import: ${n} events from ${files.length} files in [\\d.]+ s \\([\\d,]+ events/s\\): ${n} inserted, 0 already stored, 0 rejected\\n`,
      ),
    );
    expect(stdout).toContain(
      `authtrail import: hash chain: OK, ${ids.length} events in 1 chain(s)`,
    );
    expect(await storedIds()).toEqual([...ids].sort());
  });

  test('importing the same files again stores nothing twice', async () => {
    const { code, stdout } = await importing(...files, '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({
      events: ids.length,
      inserted: 0,
      duplicates: ids.length,
      rejected: 0,
    });
    expect(await storedIds()).toEqual([...ids].sort());
  });

  test('a line that is not an event is reported with file and line, escaped and cut, and the rest goes in', async () => {
    await clear();
    const lines = readFileSync(files[0]!, 'utf8').split('\n').filter(Boolean);
    const mixed = join(dir, 'mixed.jsonl');
    const hostile = `\x1b]0;owned\x07\x1b[2J${'x'.repeat(500)}`;
    writeFileSync(
      mixed,
      [
        lines[0],
        hostile,
        lines[1],
        '{"schema":1,"id":"x"}',
        '',
        lines[2],
        '{"cut":',
        // A detection whose evidence is not what record() accepts: a forged finding stays out.
        JSON.stringify({
          ...JSON.parse(lines[0]!),
          id: '01958f3e-8a1c-7b1e-9c4d-2f6a0b3c4d5e',
          type: 'authn.bruteforce.detected',
          outcome: 'detected',
          detection: { detector: 'brute_force', key: 'alice', severity: 'high' },
        }),
      ].join('\n'),
    );
    const { code, stdout, stderr } = await importing(mixed);
    expect(code).toBe(1);
    expect(stdout).toContain('3 inserted, 0 already stored, 4 rejected');
    expect(stderr).toContain(`${mixed}:8: detection.key is not a keyed hash`);
    expect(stderr).toContain(`${mixed}:2: not JSON, not imported: \\u{1b}]0;owned\\u{7}`);
    expect(stderr).toContain(`${mixed}:4: "id" is not a UUID, not imported`);
    expect(stderr).toContain(`${mixed}:7: not JSON, not imported: {"cut":`);
    // eslint-disable-next-line no-control-regex -- the escapes are what is looked for
    expect(stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(stderr).not.toContain('x'.repeat(100));
    expect((await storedIds()).length).toBe(3);
  });

  test('a broken chain is reported with file and line, every event is still stored, exit 1', async () => {
    await clear();
    const middle = files.at(-2)!;
    const lines = readFileSync(middle, 'utf8').split('\n');
    const event = JSON.parse(lines[1]!);
    event.user = { id: 'someone-else' };
    lines[1] = JSON.stringify(event);
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, lines.join('\n'));
    const given = [...files.slice(0, -2), edited, LOG];
    const { code, stdout } = await importing(...given, '--key', KEY);
    expect(code).toBe(1);
    expect(stdout).toContain(`${ids.length} inserted, 0 already stored, 0 rejected`);
    expect(stdout).toContain('authtrail import: hash chain: FAILED');
    expect(stdout).toContain(`${edited}:2: modified`);
    expect((await storedIds()).length).toBe(ids.length);
  });

  test('a corrupt gzip file is reported, the other files go in, exit 1', async () => {
    await clear();
    const gz = files.find((f) => f.endsWith('.gz'))!;
    const cut = join(dir, 'cut.jsonl.gz');
    const bytes = readFileSync(gz);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const { code, stdout, stderr } = await importing(cut, LOG);
    expect(code).toBe(1);
    expect(stderr).toContain(`${cut}: not read to its end`);
    expect(stdout).toContain('1 file(s) not read to the end');
    const live = readFileSync(LOG, 'utf8').split('\n').filter(Boolean).length;
    expect((await storedIds()).length).toBeGreaterThanOrEqual(live);
  });

  test('on a terminal, standard error shows a progress bar with the rate and an ETA, then clears it', async () => {
    // `script` runs the command on a pseudo-terminal, as a person at a shell would.
    const command = [
      process.execPath,
      CLI,
      'import',
      ...files,
      '--store',
      PG_URL,
      '--schema',
      SCHEMA,
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, AUTHTRAIL_STORE: '' },
    });
    // eslint-disable-next-line no-control-regex -- the escapes are what is looked for
    expect(stdout).toMatch(/\r\[[#-]{24}\] +\d+% +[\d,]+ events +[\d,]+\/s +ETA [\d:-]+\x1b\[K/);
    // Cleared before the summary, which starts a clean line.
    // eslint-disable-next-line no-control-regex -- the escapes are what is looked for
    expect(stdout).toMatch(/\r\x1b\[Kauthtrail import: [\d,]+ events from/);
  });

  test('an unreachable store fails with exit 1 and no password in the message', async () => {
    const { code, stderr } = await cli([
      'import',
      LOG,
      '--store',
      'postgres://someone:s3cret-pass@127.0.0.1:1/nothing',
    ]);
    expect(code).toBe(1);
    expect(stderr).not.toContain('s3cret-pass');
  });
});
