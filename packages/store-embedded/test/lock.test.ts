// The single-writer lock between processes, with real child processes: a live holder is named
// (pid, host, command, since when) to a writer and to a reader; the lock of a process killed with
// SIGKILL is taken over, and what it inserted is there; a lock taken on another host is never
// taken over by pid; a live pid that is not the process that took the lock (a reused pid) is.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { embeddedStore } from '@authtrail/store-embedded';
import { holdStore, kill, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

test('a second process is refused with ERR_AUTHTRAIL_STORE_LOCKED naming the holder and the fix, writer or reader', async () => {
  const dir = tempDir();
  const { child } = await holdStore(dir, 0);
  try {
    const holder = new RegExp(
      `pid ${child.pid} on host ${hostname().replace(/[.]/g, '\\.')} \\(node hold-store\\.mjs\\), since \\d{4}-\\d\\d-\\d\\dT`,
    );
    let error: { code?: string; message?: string } = {};
    try {
      embeddedStore({ directory: dir });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_STORE_LOCKED');
    expect(error.message).toMatch(holder);
    expect(error.message).toContain('stop that process, or query through it');
    expect(error.message).toContain('use PostgreSQL (@authtrail/store-postgres)');
    try {
      embeddedStore({ directory: dir, readOnly: true });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_STORE_LOCKED');
    expect(error.message).toMatch(holder);
    expect(error.message).toContain(`cannot open the store at ${dir} to read it`);
    // The holder's lock is left as it was.
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toMatch(new RegExp(`^${child.pid} `));
  } finally {
    await kill(child);
  }
});

test('a process killed with SIGKILL in the middle of its inserts loses none it was told were stored, and its lock is taken over', async () => {
  const dir = tempDir();
  const { child, stdout } = await holdStore(dir, 1000, true);
  // Killed while it inserts, a few batches on.
  await new Promise<void>((resolve) => {
    const check = () =>
      /stored (\d+)\n/.test(stdout().split('ready')[1] ?? '') ? resolve() : setTimeout(check, 20);
    check();
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await kill(child);
  const told = Math.max(
    ...[...stdout().matchAll(/(?:ready|stored) (\d+)\n/g)].map((m) => Number(m[1])),
  );
  expect(told).toBeGreaterThan(1000);
  const store = embeddedStore({ directory: dir });
  try {
    const count = (await store.top({ field: 'service' }))[0]?.count ?? 0;
    // Everything it was told was stored; at most the batch in flight more.
    expect(count).toBeGreaterThanOrEqual(told);
    expect(count).toBeLessThanOrEqual(told + 100);
    // It opens cleanly and takes writes: the killed writer's state is recovered.
    const more = await store.insert([
      {
        id: '00000000-0000-4000-8000-999999999999',
        time: '2026-03-01T12:00:00.000Z',
        type: 'authn.login.success',
        outcome: 'success',
      } as never,
    ]);
    expect(more).toEqual({ inserted: 1, duplicates: 0 });
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  } finally {
    await store.close();
  }
});

test('a process that exits without close() leaves no lock behind', async () => {
  const dir = tempDir();
  const script = `const { embeddedStore } = require('@authtrail/store-embedded');
    const store = embeddedStore({ directory: ${JSON.stringify(dir)} });
    store.migrate().then(() => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(0);
  expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
  expect(existsSync(join(dir, 'lock'))).toBe(false);
});

test('a lock taken on another host is never taken over, and the error says how to remove it', () => {
  const dir = tempDir();
  // A pid that surely does not run here: on another host it may.
  const content = `999999 ${randomBytes(8).toString('hex')}\nhost far-away-host\nstarted 2026-03-01T00:00:00.000Z\nsince 2026-03-01T00:00:01.000Z\ncommand node server.js\n`;
  writeFileSync(join(dir, 'lock'), content);
  expect(() => embeddedStore({ directory: dir })).toThrow(
    expect.objectContaining({
      code: 'ERR_AUTHTRAIL_STORE_LOCKED',
      message: expect.stringContaining(
        `pid 999999 on host far-away-host (node server.js), since 2026-03-01T00:00:01.000Z`,
      ),
    }),
  );
  expect(() => embeddedStore({ directory: dir })).toThrow(
    expect.objectContaining({
      message: expect.stringContaining(
        `if that host (or container) is gone, remove ${join(dir, 'lock')}`,
      ),
    }),
  );
  expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(content);
});

test('a lock of an older authtrail (pid and token only) naming a live process is respected', async () => {
  const dir = tempDir();
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)']);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lock'), `${sleeper.pid} 0123456789abcdef\n`);
    expect(() => embeddedStore({ directory: dir })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_STORE_LOCKED',
        message: expect.stringContaining(`held by pid ${sleeper.pid};`),
      }),
    );
  } finally {
    await kill(sleeper);
  }
});

const linux = process.platform === 'linux' ? test : test.skip;
linux(
  'a live pid that did not take the lock (reused after a reboot) does not hold it',
  async () => {
    const dir = tempDir();
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)']);
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      writeFileSync(
        join(dir, 'lock'),
        `${sleeper.pid} 0123456789abcdef\nhost ${hostname()}\nproc ${boot} 1\n`,
      );
      const store = embeddedStore({ directory: dir });
      await store.close();
    } finally {
      await kill(sleeper);
    }
  },
);
