// The hash chain as a verifier sees it: logs written by a real auditor through real file sinks,
// then tampered with the way an intruder would, read back line by line like `authtrail verify` does.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChainVerifier,
  createAuditor,
  fileSink,
  type AuditEvent,
  type ChainVerifierOptions,
} from '@authtrail/core';
import { HashChain, chainHash, chainKeyId } from '../../src/integrity/chain.js';
import { serialize } from '../../src/delivery/line.js';

const KEY = 'verify-chain-test-key-0123456789abcdef';
const keys = { chain: KEY, fingerprint: 'verify-chain-test-fingerprint-0123456789' };
const delivery = { handleSignals: false } as const;
const dir = () => mkdtempSync(join(tmpdir(), 'authtrail-chain-'));
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);
const events = (path: string) => lines(path).map((l) => JSON.parse(l) as AuditEvent);

/** Reads every file, oldest first, the way the CLI does. */
function verify(
  files: string[],
  options: ChainVerifierOptions = {},
  key: ConstructorParameters<typeof ChainVerifier>[0] = Buffer.from(KEY),
) {
  const verifier = new ChainVerifier(key, options);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const parts = text.split('\n');
    const last = parts.pop()!;
    parts.forEach((line, i) => verifier.add(line, file, i + 1));
    if (last !== '') verifier.add(last, file, parts.length + 1, true);
  }
  return verifier.report();
}

function rewrite(path: string, edit: (lines: string[]) => string[]): string {
  writeFileSync(path, edit(lines(path)).join('\n') + '\n');
  return path;
}

/** One run of a service: an auditor writing `count` events to `path`, closed unless `open`. */
async function run(path: string, count: number, options: { open?: boolean; tag?: string } = {}) {
  const auditor = createAuditor({ sinks: [fileSink(path)], keys, delivery });
  for (let i = 0; i < count; i++)
    auditor.record({ type: 'authn.login.success', user: { id: `${options.tag ?? 'u'}-${i}` } });
  await auditor.flush();
  if (!options.open) await auditor.close();
  return auditor;
}

describe('canonical lines', () => {
  let log: string;
  beforeAll(async () => {
    log = join(dir(), 'audit.jsonl');
    const auditor = createAuditor({ sinks: [fileSink(log)], keys, delivery });
    auditor.record({
      type: 'authn.login.failure',
      user: { id: 'mallory' },
      reason: 'bad_password',
    });
    auditor.record({ type: 'authn.login.success', user: { id: 'alice' } });
    await auditor.close();
  });

  test('an untouched log verifies, and every line is what serialize writes', () => {
    expect(verify([log])).toMatchObject({ ok: true, events: 3 });
    for (const line of lines(log)) expect(serialize(JSON.parse(line))).toBe(line + '\n');
  });

  test.each([
    [
      'a repeated "type" key in front (first-wins readers see the forged type)',
      (l: string) => l.replace('{"schema":1,', '{"type":"authn.login.success","schema":1,'),
    ],
    [
      'a repeated "user" key in front',
      (l: string) => l.replace('{"schema":1,', '{"user":{"id":"admin"},"schema":1,'),
    ],
    [
      'a repeated key inside an object',
      (l: string) => l.replace('"user":{"id":"mallory"}', '"user":{"id":"admin","id":"mallory"}'),
    ],
    ['an added space', (l: string) => l.replace('"schema":1', '"schema": 1')],
    ['a carriage return at the end', (l: string) => l + '\r'],
    [
      'keys moved',
      (l: string) => {
        const e = JSON.parse(l) as Record<string, unknown>;
        const { outcome, ...rest } = e;
        return JSON.stringify({ outcome, ...rest });
      },
    ],
    ['an escape changed', (l: string) => l.replace('"mallory"', '"\\u006dallory"')],
  ])('reports %s as modified, though the parsed event still matches its hash', (_what, edit) => {
    const path = join(dir(), 'audit.jsonl');
    writeFileSync(path, readFileSync(log));
    rewrite(path, (l) => l.map((x, i) => (i === 0 ? edit(x) : x)));
    // The tampered line parses to the same event: only its bytes give it away.
    expect(JSON.parse(lines(path)[0]!)).toEqual(JSON.parse(lines(log)[0]!));
    expect(verify([path])).toMatchObject({
      ok: false,
      problem: { kind: 'modified', line: 1, seq: 1, message: expect.stringContaining('altered') },
    });
  });
});

describe('rotation checkpoints', () => {
  let rotating: string;
  let archive: string;
  beforeAll(async () => {
    const d = dir();
    rotating = join(d, 'audit.jsonl');
    archive = join(d, 'archive.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(rotating, { maxBytes: 4096, maxFiles: 20 }), fileSink(archive)],
      keys,
      delivery,
    });
    for (let i = 0; i < 120; i++) {
      auditor.record({ type: 'authn.login.success', user: { id: `user-${i}` } });
      if (i % 10 === 9) await auditor.flush();
    }
    await auditor.close();
  });
  const rotated = () =>
    [20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
      .map((n) => `${rotating}.${n}`)
      .filter((f) => existsSync(f));

  test('go to the sink that rotated only: the archive has none and no gap in seq', () => {
    const archived = events(archive);
    expect(archived.filter((e) => e.reason === 'rotation')).toEqual([]);
    expect(archived.map((e) => e.seq)).toEqual(archived.map((_, i) => i + 1));
    expect(verify([archive])).toMatchObject({ ok: true, events: 121 });
  });

  test('each rotated-to file opens with one that names the head before it without taking a seq', () => {
    const files = [...rotated(), rotating];
    expect(files.length).toBeGreaterThan(3);
    for (let i = 1; i < files.length; i++) {
      const [first] = events(files[i]!);
      const before = events(files[i - 1]!).at(-1)!;
      expect(first).toMatchObject({ type: 'audit.checkpoint.success', reason: 'rotation' });
      expect(first!.chain).toMatchObject({ anchor: true, prev: before.chain!.hash });
      expect(first!.seq).toBe(before.seq);
    }
    expect(verify(files)).toMatchObject({ ok: true });
    expect(verify(files.slice(2))).toMatchObject({ ok: true }); // retention removed the oldest
    expect(verify([files[0]!, ...files.slice(2)])).toMatchObject({
      ok: false,
      problem: { kind: 'deleted' }, // a file from the middle is missing
    });
  });

  test('cutting the archive where the other sink rotated is reported as deleted', () => {
    // An older authtrail put the rotation checkpoint into the archive too, mid-file: cutting every
    // line before it left a file that verified ("40 of 42 lines deleted").
    const at = events(rotating)[0]!.seq!;
    const path = join(dir(), 'archive.jsonl');
    writeFileSync(path, readFileSync(archive));
    rewrite(path, (l) => l.filter((x) => (JSON.parse(x) as AuditEvent).seq! >= at));
    expect(at).toBeGreaterThan(40);
    expect(verify([path])).toMatchObject({
      ok: false,
      problem: { kind: 'deleted', line: 1, seq: at },
    });
  });

  test('a rotation checkpoint in the middle of a file cannot start a chain', () => {
    // Written by hand with the chain's own code: what an older authtrail put into every sink.
    const chain = new HashChain({ id: chainKeyId(Buffer.from(KEY)), key: Buffer.from(KEY) });
    const make = (reason?: string): AuditEvent => ({
      schema: 1,
      id: `id-${Math.random()}`,
      time: '2026-12-07T00:00:00.000Z',
      type: reason ? 'audit.checkpoint.success' : 'authn.login.success',
      outcome: 'success',
      observer: { role: 'rs', service: 's', instance: 'i', adapter: 'core' },
      reason,
      seq: undefined,
      chain: undefined,
    });
    const out: string[] = [];
    for (let i = 0; i < 42; i++) {
      const e = make();
      chain.link(e);
      out.push(serialize(e));
      if (i === 39) {
        const cp = make('rotation');
        chain.anchor(cp);
        out.push(serialize(cp));
      }
    }
    const write = (name: string, parts: string[]) => {
      const path = join(dir(), name);
      writeFileSync(path, parts.join(''));
      return path;
    };
    const whole = write('whole.jsonl', out);
    expect(verify([whole])).toMatchObject({ ok: false, problem: { kind: 'truncated' } }); // unclosed
    expect(verify([whole], { allowOpen: true })).toMatchObject({ ok: true });
    // At the top of a file it starts what is left, as after rotation and retention.
    const top = write('top.jsonl', out.slice(40));
    expect(verify([top], { allowOpen: true })).toMatchObject({ ok: true });
    // Below another chain's line it is mid-file: the 40 events before it were cut.
    const another = new HashChain({ id: chainKeyId(Buffer.from(KEY)), key: Buffer.from(KEY) });
    const foreign = make();
    another.link(foreign);
    const below = write('below.jsonl', [serialize(foreign), ...out.slice(40)]);
    expect(verify([below], { allowOpen: true })).toMatchObject({
      ok: false,
      problem: { kind: 'deleted', line: 2, message: expect.stringContaining('middle of the file') },
    });
    // After the chain's first event it must name the event before it.
    const gap = write('gap.jsonl', [out[0]!, ...out.slice(40)]);
    expect(verify([gap], { allowOpen: true })).toMatchObject({
      ok: false,
      problem: { kind: 'deleted', line: 2 },
    });
  });
});

describe('runs', () => {
  /** Runs of one service into one log path, the way restarts go; the log is rotated by renaming. */
  const service = () => join(dir(), 'audit.jsonl');
  const firsts = (path: string) => events(path).filter((e) => e.seq === 1);

  test('each run names the one before it, and a log of several runs verifies in order', async () => {
    const path = service();
    await run(path, 3, { tag: 'a' });
    await run(path, 2, { tag: 'b' });
    await run(path, 4, { tag: 'c' });
    const [a, b, c] = firsts(path).map((e) => e.chain!.run!);
    expect(a).toEqual({ lineage: a!.lineage, n: 1 });
    expect(b).toMatchObject({ lineage: a!.lineage, n: 2, after: { seq: 4 } });
    expect(c).toMatchObject({ lineage: a!.lineage, n: 3, after: { seq: 3 } });
    const report = verify([path]);
    expect(report.ok).toBe(true);
    expect(report.chains.map((ch) => [ch.run, ch.predecessor])).toEqual([
      [1, 'none'],
      [2, 'present'],
      [3, 'present'],
    ]);
  });

  test('deleting every event of one run is reported as a missing run', async () => {
    const path = service();
    await run(path, 3, { tag: 'a' });
    await run(path, 3, { tag: 'b' });
    await run(path, 3, { tag: 'c' });
    const second = firsts(path)[1]!.chain!.id;
    rewrite(path, (l) => l.filter((x) => !x.includes(`"chain":{"id":"${second}"`)));
    expect(new Set(events(path).map((e) => e.chain!.id)).size).toBe(2);
    expect(verify([path])).toMatchObject({
      ok: false,
      problem: {
        kind: 'deleted',
        message: expect.stringMatching(/run 2 of this log .* is missing/),
      },
    });
  });

  test('the oldest run present may name a run retention removed', async () => {
    const path = service();
    await run(path, 2);
    rewrite(path, () => []); // rotated away and deleted
    await run(path, 2);
    await run(path, 2);
    const report = verify([path]);
    expect(report).toMatchObject({ ok: true });
    expect(report.chains.map((ch) => ch.predecessor)).toEqual(['absent', 'present']);
  });

  test('an older file in place of a newer one, or a file given twice, is reported', async () => {
    const path = service();
    const { renameSync } = await import('node:fs');
    await run(path, 2, { tag: 'a' });
    renameSync(path, `${path}.2`);
    await run(path, 2, { tag: 'b' });
    renameSync(path, `${path}.1`);
    await run(path, 2, { tag: 'c' });
    expect(verify([`${path}.2`, `${path}.1`, path])).toMatchObject({ ok: true });
    // today's file replaced by a copy of the oldest
    const copy = join(dir(), 'audit.jsonl');
    writeFileSync(copy, readFileSync(`${path}.2`));
    expect(verify([`${path}.2`, `${path}.1`, copy])).toMatchObject({
      ok: false,
      problem: { kind: 'replayed', file: copy, line: 1 },
    });
    // an older file put where a newer one belongs
    expect(verify([`${path}.1`, `${path}.2`, path])).toMatchObject({
      ok: false,
      problem: { kind: 'reordered', message: expect.stringContaining('older file in place') },
    });
  });

  test('two runs that claim the same predecessor are reported as replayed', async () => {
    const path = service();
    await run(path, 2);
    const state = `${join(path, '..')}/.audit.jsonl.chain-0.json`;
    const saved = readFileSync(state);
    await run(path, 2);
    writeFileSync(state, saved); // an old state put back: the next run forks the lineage
    await run(path, 2);
    expect(verify([path])).toMatchObject({
      ok: false,
      problem: { kind: 'replayed', message: expect.stringMatching(/appears twice|both claim/) },
    });
  });

  test('--allow-open accepts the newest run open, never an older one cut off', async () => {
    const path = service();
    await run(path, 3);
    const live = await run(path, 2, { open: true });
    expect(verify([path])).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
    expect(verify([path], { allowOpen: true })).toMatchObject({ ok: true });
    await live.close();
    // The first run's last two events (and its closing checkpoint) removed: the second run's link
    // says where it ended.
    rewrite(path, (l) => [...l.slice(0, 2), ...l.slice(4)]);
    expect(verify([path], { allowOpen: true })).toMatchObject({
      ok: false,
      problem: { kind: 'truncated', line: 2, message: expect.stringContaining('next run') },
    });
  });

  test('a run that crashed is accepted once the next run names its last event', async () => {
    const path = service();
    await run(path, 2);
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve) =>
      execFile(process.execPath, [join(__dirname, 'crash-writer.mjs'), path, '3'], () => resolve()),
    );
    // killed: its lock is stale, its chain has no closing checkpoint
    expect(existsSync(`${join(path, '..')}/.audit.jsonl.chain-0.lock`)).toBe(true);
    expect(verify([path])).toMatchObject({ ok: false, problem: { kind: 'truncated' } });
    await run(path, 2); // takes the stale slot over and links to the crashed run
    const chains = firsts(path).map((e) => e.chain!.run!.n);
    expect(chains).toEqual([1, 2, 3]);
    expect(verify([path])).toMatchObject({ ok: true });
    // ... but not when the crashed run's last event is then removed
    rewrite(path, (l) => l.filter((x) => !x.includes('"crashed-2"')));
    expect(verify([path], { allowOpen: true })).toMatchObject({
      ok: false,
      problem: { kind: 'truncated' },
    });
  });

  test('auditors writing one log at the same time each keep their own lineage', async () => {
    const path = service();
    for (let round = 0; round < 2; round++) {
      const [a, b] = [run(path, 3, { open: true }), run(path, 3, { open: true })];
      await Promise.all([(await a).close(), (await b).close()]);
    }
    const report = verify([path]);
    expect(report).toMatchObject({ ok: true });
    const lineages = new Set(report.chains.map((c) => c.lineage));
    expect(lineages.size).toBe(2);
    expect(report.chains.map((c) => c.run).sort()).toEqual([1, 1, 2, 2]);
    expect(statSync(`${join(path, '..')}/.audit.jsonl.chain-1.json`).mode & 0o777).toBe(0o600);
  });
});

describe('key rotation', () => {
  const OLD = 'the-old-chain-key-0123456789abcdefghij';
  const NEW = 'the-new-chain-key-0123456789abcdefghij';

  test('malformed chain key lists are refused with every problem named', () => {
    expect(() => createAuditor({ keys: { chain: [] }, delivery })).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }),
    );
    let message = '';
    try {
      createAuditor({
        keys: {
          chain: [
            { id: 'bad id!', key: NEW },
            { id: 'ok', key: 'short' },
          ],
        },
        delivery,
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('keys.chain[0].id');
    expect(message).toContain('keys.chain[1].key');
    expect(message).not.toContain('short'); // the shape of a key, never the key
  });

  test('events name the key that signed them, and a log verifies across a rotation', async () => {
    const path = join(dir(), 'audit.jsonl');
    const write = async (chain: string | { id: string; key: string }[], tag: string) => {
      const auditor = createAuditor({ sinks: [fileSink(path)], keys: { chain }, delivery });
      auditor.record({ type: 'authn.login.success', user: { id: tag } });
      await auditor.close();
    };
    await write(OLD, 'before'); // the single key of old, with its derived id
    await write(
      [
        { id: '2026-12', key: NEW },
        { id: '2026-11', key: OLD },
      ],
      'after',
    );
    const kids = events(path).map((e) => e.chain!.kid);
    expect(kids).toEqual([
      chainKeyId(Buffer.from(OLD)),
      chainKeyId(Buffer.from(OLD)),
      '2026-12',
      '2026-12',
    ]);
    const both = [
      { id: '2026-12', key: Buffer.from(NEW) },
      { id: '2026-11', key: Buffer.from(OLD) },
    ];
    expect(verify([path], {}, both)).toMatchObject({ ok: true, events: 4 });
    expect(verify([path], {}, [Buffer.from(NEW), Buffer.from(OLD)])).toMatchObject({ ok: true });
    expect(verify([path], {}, both.slice(0, 1))).toMatchObject({
      ok: false,
      problem: {
        kind: 'modified',
        line: 1,
        message: expect.stringContaining('not among the keys'),
      },
    });
  });

  test('a log written before key ids verifies with its key', () => {
    const key = Buffer.from(OLD);
    const chain = new HashChain({ id: chainKeyId(key), key });
    const event: AuditEvent = {
      schema: 1,
      id: 'legacy',
      time: '2026-01-01T00:00:00.000Z',
      type: 'audit.checkpoint.success',
      outcome: 'success',
      observer: { role: 'rs', service: 's', instance: 'i', adapter: 'core' },
      reason: 'close',
    };
    chain.link(event);
    // what an older authtrail wrote: { id, prev, hash } only
    event.chain = { id: event.chain!.id, prev: '', hash: '' };
    event.chain.hash = chainHash(key, event);
    const path = join(dir(), 'legacy.jsonl');
    writeFileSync(path, serialize(event));
    expect(verify([path], {}, key)).toMatchObject({ ok: true, events: 1 });
    expect(verify([path], {}, Buffer.from(NEW))).toMatchObject({ ok: false });
  });
});

describe('hostile and broken input', () => {
  test('lines of any shape, even signed with the key, never make the verifier throw', () => {
    const key = Buffer.from(KEY);
    const signed = (chain: Record<string, unknown>, seq: unknown = 1) => {
      const event = {
        schema: 1,
        id: 'x',
        time: 't',
        type: 'a.b.success',
        outcome: 'success',
        seq,
        chain: { id: 'c', prev: '', ...chain, hash: '' },
      } as unknown as AuditEvent;
      event.chain!.hash = chainHash(key, event);
      return JSON.stringify(event);
    };
    const texts = [
      'null',
      '[]',
      '42',
      '"text"',
      '{"seq":1,"chain":null}',
      '{"seq":1,"chain":{"id":5,"hash":"h"}}',
      '{"__proto__":{"seq":1},"chain":{"id":"c","hash":"h"}}',
      signed({ run: null }),
      signed({ run: { lineage: 'l', n: 2, after: null } }),
      signed({ run: { lineage: 'l', n: 3, after: 'x' } }),
      signed({ run: { lineage: 'l', n: 'x' } }),
      signed({ run: { lineage: 'l', n: 4, after: { id: 'gone', seq: 'x', hash: 1 } } }),
      signed({ anchor: true }, 0),
      signed({ kid: '\u001b[2J' }, 2),
    ];
    const verifier = new ChainVerifier(key);
    texts.forEach((t, i) => verifier.add(t, 'hostile.jsonl', i + 1));
    expect(() => verifier.report()).not.toThrow();
    expect(verifier.report().ok).toBe(false);
  });

  test('a log directory that cannot hold the chain state is a warning, not a crash', async () => {
    const path = join(dir(), 'missing', 'audit.jsonl');
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const auditor = createAuditor({
      sinks: [fileSink(path)],
      keys,
      delivery: { ...delivery, closeTimeoutMs: 200 },
    });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not be kept (ENOENT)'), {
      code: 'AUTHTRAIL_CHAIN_STATE',
    });
    warn.mockRestore();
    auditor.record({ type: 'authn.login.success' });
    await auditor.close();
  });

  test('the state beside the log holds the head only, readable by its owner only', async () => {
    const path = join(dir(), 'audit.jsonl');
    await run(path, 1);
    const state = `${join(path, '..')}/.audit.jsonl.chain-0.json`;
    expect(statSync(state).mode & 0o777).toBe(0o600);
    const head = JSON.parse(readFileSync(state, 'utf8'));
    expect(Object.keys(head)).toEqual(['lineage', 'n', 'id', 'seq', 'hash']);
    expect(readFileSync(state, 'utf8')).not.toContain(KEY);
    expect(existsSync(`${join(path, '..')}/.audit.jsonl.chain-0.lock`)).toBe(false); // released
  });
});
