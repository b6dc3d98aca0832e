import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditor, fileSink, type AuditEvent } from '@authtrail/core';

const KEYS = { fingerprint: 'file-sink-test-fingerprint-key-0123456789' };
const delivery = { handleSignals: false } as const;
const dir = () => mkdtempSync(join(tmpdir(), 'authtrail-file-'));
const read = (path: string): AuditEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);

test('rotates at maxBytes, keeps maxFiles rotated files, and never splits a line', async () => {
  const path = join(dir(), 'audit.jsonl');
  const auditor = createAuditor({
    sinks: [fileSink(path, { maxBytes: 4096, maxFiles: 2 })],
    keys: KEYS,
    delivery,
  });
  for (let i = 0; i < 200; i++) {
    auditor.record({ type: 'app.thing.success', reason: String(i) });
    if (i % 10 === 9) await auditor.flush();
  }
  await auditor.close();
  expect(existsSync(`${path}.1`)).toBe(true);
  expect(existsSync(`${path}.2`)).toBe(true);
  expect(existsSync(`${path}.3`)).toBe(false); // retention: older files are gone
  // Every line parses. (The current file may not exist yet: the last batch may have rotated it.)
  const kept = [`${path}.2`, `${path}.1`, path].filter((f) => existsSync(f)).flatMap(read);
  const numbers = kept.map((e) => Number(e.reason));
  expect(numbers).toEqual(numbers.slice().sort((a, b) => a - b)); // oldest first, in order
  expect(numbers.at(-1)).toBe(199);
  for (const f of [`${path}.2`, `${path}.1`])
    expect(readFileSync(f).length).toBeLessThan(4096 + 10 * 200); // at most one batch past maxBytes
});

test('with a hash chain each rotated-to file starts with a rotation checkpoint', async () => {
  const path = join(dir(), 'audit.jsonl');
  const auditor = createAuditor({
    sinks: [fileSink(path, { maxBytes: 4096 })],
    keys: { ...KEYS, chain: 'file-sink-test-chain-key-0123456789abcdef' },
    delivery,
  });
  for (let i = 0; i < 100; i++) {
    auditor.record({ type: 'app.thing.success', reason: String(i) });
    if (i % 10 === 9) await auditor.flush();
  }
  await auditor.close();
  const current = read(path);
  const previous = read(`${path}.1`);
  expect(current[0]).toMatchObject({ type: 'audit.checkpoint.success', reason: 'rotation' });
  // It names the head without taking a seq: other sinks, which do not get it, see no gap.
  expect(current[0]!.seq).toBe(previous.at(-1)!.seq!);
  expect(current[0]!.chain!.anchor).toBe(true);
  expect(current[0]!.chain!.prev).toBe(previous.at(-1)!.chain!.hash);
  expect(current.at(-1)).toMatchObject({ type: 'audit.checkpoint.success', reason: 'close' });
});

test.each(['batch', 'every'] as const)('fsync %s writes the same lines', async (fsync) => {
  const path = join(dir(), 'audit.jsonl');
  const auditor = createAuditor({ sinks: [fileSink(path, { fsync })], keys: KEYS, delivery });
  for (let i = 0; i < 20; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
  await auditor.close();
  expect(read(path).map((e) => e.reason)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
});

test('bad options throw one error naming each problem', () => {
  expect(() =>
    fileSink('x.jsonl', {
      fsync: 'sometimes' as 'none',
      maxBytes: 10,
      maxFiles: 0,
    }),
  ).toThrow(
    expect.objectContaining({
      code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
      message: expect.stringMatching(/fsync[\s\S]*maxBytes[\s\S]*maxFiles/),
    }),
  );
});

test('a file that cannot be opened is a failed write that is retried, not a crash', async () => {
  const auditor = createAuditor({
    sinks: [fileSink(join(dir(), 'no', 'such', 'dir', 'audit.jsonl'))],
    keys: KEYS,
    delivery: { ...delivery, retries: 1, minRetryDelayMs: 1 },
  });
  auditor.record({ type: 'app.thing.success' });
  await auditor.flush();
  expect(auditor.stats()).toMatchObject({ failed: 2, retried: 1, dropped: 1 });
});

test('creates the log and every rotated-to file 0600 (an audit log names users), whatever the umask', async () => {
  const old = process.umask(0o022);
  try {
    const path = join(dir(), 'audit.jsonl');
    const auditor = createAuditor({
      sinks: [fileSink(path, { maxBytes: 1024, maxFiles: 2 })],
      keys: KEYS,
      delivery,
    });
    for (let i = 0; i < 60; i++) {
      auditor.record({ type: 'app.thing.success', reason: String(i) });
      if (i % 10 === 9) await auditor.flush();
    }
    await auditor.close();
    const files = [path, `${path}.1`, `${path}.2`].filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600);
  } finally {
    process.umask(old);
  }
});
