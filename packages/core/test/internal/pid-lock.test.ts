// Lock files in one process: a recorded lock names its holder and never its arguments; the one-line
// lock of spill slots and chain states is unchanged; hostile lock content is shown as one
// printable line; a lock is released only by the holder that took it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { takeLock, tryLock } from '../../src/internal/pid-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'authtrail-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('tryLock writes the one-line lock older authtrail versions read', () => {
  const lock = join(dir, 'slot.lock');
  const release = tryLock(lock)!;
  expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} [0-9a-f]{16}\\n$`));
  expect(tryLock(lock)).toBeUndefined();
  release();
  expect(() => readFileSync(lock)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
});

test('a recorded lock names this process (host, start, since, script names only), and a second taker is told who holds it', () => {
  const lock = join(dir, 'store.lock');
  const first = takeLock(lock, { record: true });
  expect(first.release).toBeDefined();
  const content = readFileSync(lock, 'utf8');
  expect(content).toMatch(
    /^\d+ [0-9a-f]{16}\nhost .+\nstarted \d{4}-.+Z\nsince \d{4}-.+Z\ncommand \S+ \S+\n(proc .+\n)?$/,
  );
  // The arguments (a --store URL with a password) never: only the program and script names.
  expect(content).not.toContain('/');
  const second = takeLock(lock, { record: true });
  expect(second.holder).toMatchObject({
    pid: process.pid,
    host: hostname(),
    self: true,
    remote: false,
  });
  first.release!();
  expect(takeLock(lock, { record: true }).release).toBeDefined();
});

test('what a lock file says of its holder is shown as one printable line', () => {
  const lock = join(dir, 'hostile.lock');
  writeFileSync(lock, `1 abcdef\nhost evil\x1b[31mred\u202e\ncommand x\x07y\n`);
  const { holder } = takeLock(lock, { record: true });
  expect(holder).toMatchObject({ host: 'evil?[31mred?', command: 'x?y', remote: true });
});
