// `authtrail verify` over logs written by a real Express app through the file sink, then tampered
// with the way an intruder (or a careless script) would.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import request from 'supertest';
import { createAuditor, fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const KEY = 'chain-key-for-tests-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'authtrail-verify-'));

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = (sub: string) =>
  `${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64({ sub, aud: 'api', scope: 'read', exp: 4102444800 })}.${'s'.repeat(86)}`;

/** Serves `requests` bearer calls through an app audited with a chain, closes it, returns its lines. */
async function writeLog(name: string, requests: number): Promise<string> {
  const path = join(dir, name);
  const auditor = createAuditor(
    { sinks: [fileSink(path)], keys: { chain: KEY, fingerprint: KEY }, service: 'verify-test' },
    'express',
  );
  const app = express();
  app.use(authtrail({ auditor }));
  app.get('/api/items', (_req, res) => res.json([]));
  for (let i = 0; i < requests; i++) {
    await request(app)
      .get('/api/items')
      .set('authorization', `Bearer ${token(`user-${i}`)}`);
  }
  await auditor.close();
  return path;
}

async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify', ...args]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);
function tampered(path: string, name: string, edit: (lines: string[]) => string[] | string) {
  const edited = edit(lines(path));
  const out = join(dir, name);
  writeFileSync(out, typeof edited === 'string' ? edited : edited.join('\n') + '\n');
  return out;
}

let log: string;
beforeAll(async () => {
  log = await writeLog('audit.jsonl', 6);
});

test('every event carries seq and a chain link, and the log ends with a closing checkpoint', () => {
  const events = lines(log).map((l) => JSON.parse(l));
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(events[0].chain.prev).toBe('');
  for (let i = 1; i < events.length; i++)
    expect(events[i].chain.prev).toBe(events[i - 1].chain.hash);
  expect(events.at(-1)).toMatchObject({ type: 'audit.checkpoint.success', reason: 'close' });
});

test('an untouched log verifies', async () => {
  const { code, out } = await verify(log, '--key', KEY);
  expect(code).toBe(0);
  expect(out).toContain('OK, 7 events in 1 chain(s)');
});

test.each([
  [
    'a modified field',
    'modified',
    (l: string[]) => l.map((x, i) => (i === 2 ? x.replace('"status":200', '"status":201') : x)),
    /audit-modified\.jsonl:3: modified .*seq 3/,
  ],
  [
    'a deleted event',
    'deleted',
    (l: string[]) => l.filter((_, i) => i !== 3),
    /audit-deleted\.jsonl:4: deleted .*seq 4 is missing/,
  ],
  [
    'a copied event',
    'copied',
    (l: string[]) => [...l.slice(0, 4), l[1]!, ...l.slice(4)],
    /audit-copied\.jsonl:5: inserted .*a copy of seq 2/,
  ],
  [
    'a hand-written event',
    'forged',
    (l: string[]) => [...l.slice(0, 2), l[1]!.replace(/,"seq".*\}$/, '}'), ...l.slice(2)],
    /audit-forged\.jsonl:3: inserted: an event without a chain link/,
  ],
  [
    'two swapped events',
    'swapped',
    (l: string[]) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)],
    /audit-swapped\.jsonl:2: reordered .*seq 3 comes before seq 2/,
  ],
  [
    'removed last events',
    'cut',
    (l: string[]) => l.slice(0, 5),
    /audit-cut\.jsonl:5: truncated .*ends at seq 5 without its closing checkpoint/,
  ],
  [
    'a cut-off last line',
    'partial',
    (l: string[]) => l.join('\n') + '\n' + l[0]!.slice(0, 40),
    /audit-partial\.jsonl:8: truncated: the last line is cut off/,
  ],
])('reports %s with its file and line', async (_what, name, edit, expected) => {
  const { code, out } = await verify(tampered(log, `audit-${name}.jsonl`, edit), '--key', KEY);
  expect(code).toBe(1);
  expect(out).toMatch(expected);
});

test('a wrong key fails every event; a missing key is a usage error', async () => {
  const keyFile = join(dir, 'wrong.key');
  writeFileSync(keyFile, 'another-key-of-at-least-32-bytes-000\n');
  expect(await verify(log, '--key-file', keyFile)).toMatchObject({
    code: 1,
    out: expect.stringMatching(/:1: modified/),
  });
  const { code, out } = await verify(log);
  expect(code).toBe(2);
  expect(out).toContain('no key');
});

test('the key file and AUTHTRAIL_CHAIN_KEY work like --key', async () => {
  const keyFile = join(dir, 'chain.key');
  writeFileSync(keyFile, `${KEY}\n`);
  expect((await verify(log, '--key-file', keyFile)).code).toBe(0);
  const { stdout } = await run(process.execPath, [CLI, 'verify', log, '--json'], {
    env: { ...process.env, AUTHTRAIL_CHAIN_KEY: KEY },
  });
  expect(JSON.parse(stdout)).toMatchObject({ ok: true, events: 7 });
});

test('a log split over files verifies when given oldest first, and fails out of order', async () => {
  const all = lines(log);
  const older = join(dir, 'split.jsonl.1');
  const newer = join(dir, 'split.jsonl');
  writeFileSync(older, all.slice(0, 3).join('\n') + '\n');
  writeFileSync(newer, all.slice(3).join('\n') + '\n');
  expect((await verify(older, newer, '--key', KEY)).code).toBe(0);
  expect(await verify(newer, older, '--key', KEY)).toMatchObject({
    code: 1,
    out: expect.stringMatching(/split\.jsonl:1: (reordered|deleted)/),
  });
});

test('two auditors interleaved in one file are two chains, each checked on its own', async () => {
  const a = lines(log);
  const b = lines(await writeLog('second.jsonl', 2));
  const mixed = join(dir, 'mixed.jsonl');
  writeFileSync(mixed, [a[0], b[0], a[1], b[1], ...a.slice(2), ...b.slice(2)].join('\n') + '\n');
  expect(await verify(mixed, '--key', KEY)).toMatchObject({
    code: 0,
    out: expect.stringContaining('10 events in 2 chain(s)'),
  });
});

test('a log still being written is open: truncated by default, accepted with --allow-open', async () => {
  const path = join(dir, 'open.jsonl');
  const auditor = createAuditor({ sinks: [fileSink(path)], keys: { chain: KEY } });
  auditor.record({ type: 'authn.login.success', user: { id: 'alice' } });
  await auditor.flush();
  expect((await verify(path, '--key', KEY)).out).toMatch(/truncated/);
  expect(await verify(path, '--key', KEY, '--allow-open')).toMatchObject({
    code: 0,
    out: expect.stringContaining('1 still open'),
  });
  await auditor.close();
});

test('a short chain key is refused at startup with a fix', () => {
  expect(() => createAuditor({ keys: { chain: 'short' } })).toThrow(
    expect.objectContaining({
      code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
      message: expect.stringContaining('keys.chain'),
    }),
  );
});

test('a rotated log verifies across its files, and still verifies once retention removed the oldest', async () => {
  const path = join(dir, 'rotating.jsonl');
  const auditor = createAuditor({
    sinks: [fileSink(path, { maxBytes: 4096, maxFiles: 10 })],
    keys: { chain: KEY, fingerprint: KEY },
  });
  for (let i = 0; i < 120; i++) {
    auditor.record({ type: 'authn.login.success', user: { id: `user-${i}` } });
    if (i % 10 === 9) await auditor.flush();
  }
  await auditor.close();
  const files = [5, 4, 3, 2, 1].map((n) => `${path}.${n}`).filter((f) => existsSync(f));
  expect(files.length).toBeGreaterThan(2);
  expect((await verify(...files, path, '--key', KEY)).code).toBe(0);
  expect((await verify(...files.slice(1), path, '--key', KEY)).code).toBe(0); // oldest gone
  expect(await verify(files[0]!, ...files.slice(2), path, '--key', KEY)).toMatchObject({
    code: 1,
    out: expect.stringMatching(/deleted/), // a file from the middle is missing
  });
});
