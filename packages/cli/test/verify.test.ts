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
  const auditor = createAuditor({
    sinks: [fileSink(path)],
    keys: { chain: KEY, fingerprint: KEY },
    service: 'verify-test',
  });
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

describe('what verify prints is safe for a terminal', () => {
  /** True when `text` holds ESC, CR or a right-to-left override as they are. */
  const raw = (text: string) => ['\u001b', '\r', '\u202e'].some((c) => text.includes(c));
  const evil = '\u001b[2K\rauthtrail verify: OK \u202e';
  /** The log with line 3's chain.id replaced: written the way authtrail writes, so only its hash fails. */
  const forged = (name: string) =>
    tampered(log, name, (l) =>
      l.map((x, i) => {
        if (i !== 2) return x;
        const e = JSON.parse(x);
        e.chain.id = evil;
        return JSON.stringify(e);
      }),
    );

  test('a chain id with terminal escapes is printed escaped, never raw', async () => {
    const { code, out } = await verify(forged('audit-escape.jsonl'), '--key', KEY);
    expect(code).toBe(1);
    expect(raw(out)).toBe(false);
    expect(out).toContain('(chain \\u{1b}[2K\\u{d}authtrail verify: OK \\u{202e}, seq 3)');
    expect(out.split('\n')[0]).toBe('authtrail verify: FAILED');
  });

  test('--json escapes them too, and stays JSON', async () => {
    const { code, out } = await verify(forged('audit-escape-json.jsonl'), '--key', KEY, '--json');
    expect(code).toBe(1);
    expect(raw(out)).toBe(false);
    expect(JSON.parse(out).problem).toMatchObject({ kind: 'modified', chain: evil, seq: 3 });
  });

  test('a file name with terminal escapes is printed escaped', async () => {
    const name = join(dir, 'x\u001b[2K\r.jsonl');
    writeFileSync(name, readFileSync(forged('audit-escape-name.jsonl')));
    const { out } = await verify(name, '--key', KEY);
    expect(raw(out)).toBe(false);
    expect(out).toContain('x\\u{1b}[2K\\u{d}.jsonl:3: modified');
  });
});

describe('runs and keys', () => {
  const OLD = 'cli-old-chain-key-0123456789abcdefghij';
  const NEW = 'cli-new-chain-key-0123456789abcdefghij';
  /** One run of a service: an auditor that records `n` events into `path`, then closes. */
  async function runOf(path: string, n: number, chain: string | { id: string; key: string }[]) {
    const auditor = createAuditor({
      sinks: [fileSink(path)],
      keys: { chain },
      delivery: { handleSignals: false },
    });
    for (let i = 0; i < n; i++)
      auditor.record({ type: 'authn.login.success', user: { id: `u${i}` } });
    await auditor.close();
  }

  test('a log verifies across a key rotation with an id=key file or repeated --key-file', async () => {
    const path = join(dir, 'rotated-key.jsonl');
    await runOf(path, 2, OLD);
    await runOf(path, 2, [
      { id: '2026-12', key: NEW },
      { id: '2026-11', key: OLD },
    ]);
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `2026-12=${NEW}\n2026-11=${OLD}\n`);
    expect(await verify(path, '--key-file', keys)).toMatchObject({
      code: 0,
      out: expect.stringContaining('OK, 6 events in 2 chain(s)'),
    });
    const [a, b] = [join(dir, 'old.key'), join(dir, 'new.key')];
    writeFileSync(a, `${OLD}\n`);
    writeFileSync(b, `2026-12=${NEW}\n`);
    expect((await verify(path, '--key-file', a, '--key-file', b)).code).toBe(0);
    const { code, out } = await verify(path, '--key-file', b);
    expect(code).toBe(1);
    expect(out).toMatch(/:1: modified .*not among the keys given/);
    expect(out).not.toContain(NEW);
  });

  test('names a missing run, and accepts an open chain only for the newest run', async () => {
    const path = join(dir, 'runs.jsonl');
    await runOf(path, 2, KEY);
    await runOf(path, 2, KEY);
    await runOf(path, 2, KEY);
    expect(await verify(path, '--key', KEY)).toMatchObject({
      code: 0,
      out: expect.stringContaining('OK, 9 events in 3 chain(s)'),
    });
    const all = lines(path);
    const withoutRun2 = tampered(path, 'runs-missing.jsonl', () => [
      ...all.slice(0, 3),
      ...all.slice(6),
    ]);
    expect(await verify(withoutRun2, '--key', KEY)).toMatchObject({
      code: 1,
      out: expect.stringMatching(
        /runs-missing\.jsonl:4: deleted .*run 2 of this log .* is missing/,
      ),
    });
    // The first run cut short (its closing checkpoint removed): --allow-open does not cover it.
    const cut = tampered(path, 'runs-cut.jsonl', () => [...all.slice(0, 2), ...all.slice(3)]);
    expect(await verify(cut, '--key', KEY, '--allow-open')).toMatchObject({
      code: 1,
      out: expect.stringMatching(
        /runs-cut\.jsonl:2: truncated .*next run .* says it ended at seq 3/,
      ),
    });
    // Retention took the first run: the oldest present names a run no longer given.
    const kept = tampered(path, 'runs-kept.jsonl', () => all.slice(3));
    expect(await verify(kept, '--key', KEY)).toMatchObject({
      code: 0,
      out: expect.stringContaining('links to a run no longer given'),
    });
  });
});

describe('anchored heads (chainAnchor, --anchors)', () => {
  const delivery = { handleSignals: false } as const;
  /** One run writing `n` events to `log`, its heads to `anchors` (another file: another host). */
  async function anchoredRun(log: string, anchors: string, n: number, everyMs = 60_000) {
    const auditor = createAuditor({
      sinks: [fileSink(log)],
      keys: { chain: KEY },
      chainAnchor: { sink: fileSink(anchors), everyMs },
      delivery,
    });
    for (let i = 0; i < n; i++)
      auditor.record({ type: 'authn.login.success', user: { id: `a${i}` } });
    return auditor;
  }

  test('chainAnchor is refused without keys.chain or without a fileSink', () => {
    let message = '';
    try {
      createAuditor({ sinks: [], chainAnchor: { sink: fileSink(join(dir, 'x')), everyMs: 5 } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('chainAnchor.everyMs');
    expect(message).toContain('no keys.chain');
    expect(message).toContain('no fileSink');
  });

  test('heads are anchored while the chain moves, and a whole log reaches every one', async () => {
    const log = join(dir, 'anchored.jsonl');
    const anchors = join(dir, 'anchored.heads.jsonl');
    const auditor = await anchoredRun(log, anchors, 3, 10);
    await auditor.flush();
    for (let i = 0; i < 500 && !(existsSync(anchors) && readFileSync(anchors, 'utf8')); i++)
      await new Promise((r) => setTimeout(r, 10));
    const [first] = lines(anchors).map((l) => JSON.parse(l));
    expect(first).toMatchObject({ type: 'audit.checkpoint.success', reason: 'anchor', seq: 3 });
    expect(first.chain.prev).toBe(JSON.parse(lines(log)[2]!).chain.hash);
    await auditor.close();
    expect(await verify(log, '--key', KEY, '--anchors', anchors)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/OK, 4 events in 1 chain\(s\), \d anchored head\(s\) reached/),
    });
  });

  test('the newest run cut at its end, or removed whole, verifies alone but not against its anchors', async () => {
    const log = join(dir, 'anchored-runs.jsonl');
    const anchors = join(dir, 'anchored-runs.heads.jsonl');
    await (await anchoredRun(log, anchors, 2)).close();
    await (await anchoredRun(log, anchors, 3)).close();
    const all = lines(log); // run 1: 3 lines, run 2: 4 lines
    const cut = tampered(log, 'anchored-cut.jsonl', () => all.slice(0, 5));
    expect((await verify(cut, '--key', KEY, '--allow-open')).code).toBe(0); // what a chain alone cannot see
    expect(await verify(cut, '--key', KEY, '--allow-open', '--anchors', anchors)).toMatchObject({
      code: 1,
      out: expect.stringMatching(/anchored-cut\.jsonl:5: truncated .*anchored at seq 4/),
    });
    const gone = tampered(log, 'anchored-gone.jsonl', () => all.slice(0, 3));
    expect((await verify(gone, '--key', KEY)).code).toBe(0);
    expect(await verify(gone, '--key', KEY, '--anchors', anchors)).toMatchObject({
      code: 1,
      out: expect.stringMatching(
        /deleted .*run 2 of the log, anchored up to seq 4 .* is not in the files given/,
      ),
    });
    const forged = join(dir, 'anchored-forged.heads.jsonl');
    writeFileSync(forged, readFileSync(anchors, 'utf8').replace('"seq":4', '"seq":9'));
    expect(await verify(log, '--key', KEY, '--anchors', forged)).toMatchObject({
      code: 1,
      out: expect.stringMatching(/anchored-forged\.heads\.jsonl:\d: modified/),
    });
  });
});
