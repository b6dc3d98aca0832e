// The embedded store in this process: options, a round trip through every Store method (the
// cross-engine conformance suite compares the answers in depth), read-only opens, persistence
// across a reopen, and the single-writer lock between two stores of one process.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_VERSION, compileQuery, type Store } from '@authtrail/store';
import { embeddedStore } from '@authtrail/store-embedded';
import { DAY, events, removeTempDirs, tempDir } from './support.js';

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const open: Store[] = [];
function store(options: Parameters<typeof embeddedStore>[0]): Store {
  const s = embeddedStore(options);
  open.push(s);
  return s;
}
afterAll(async () => {
  for (const s of open) await s.close();
  removeTempDirs();
});

describe('options', () => {
  test('reports every problem at once: a bad directory, a bad interval, an unknown option', () => {
    let error: { code?: string; message?: string; issues?: { path: string }[] } = {};
    try {
      embeddedStore({
        directory: 42 as unknown as string,
        checkpointIntervalMs: 5,
        dir: 'x',
      } as Parameters<typeof embeddedStore>[0]);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues?.map((i) => i.path)).toEqual([
      'embeddedStore({ directory })',
      'embeddedStore({ checkpointIntervalMs })',
      'embeddedStore({ dir })',
    ]);
  });

  test('a read-only open of a directory without a store is ERR_AUTHTRAIL_STORE_NOT_FOUND and creates nothing', () => {
    const dir = join(tempDir(), 'none');
    expect(() => embeddedStore({ directory: dir, readOnly: true })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_STORE_NOT_FOUND',
        message: expect.stringContaining(`no store in ${dir}`),
      }),
    );
    expect(existsSync(dir)).toBe(false);
  });
});

describe('a store in a directory', () => {
  const dir = tempDir();
  let s: Store;
  let batch: Awaited<ReturnType<typeof events>>;

  beforeAll(async () => {
    s = store({ directory: dir });
    batch = await events(
      [
        { type: 'authn.login.failure', reason: 'invalid_credentials', user: { id: 'alice' } },
        { type: 'authn.login.success', user: { id: 'alice' }, flow: { id: 'flow-1' } },
        { type: 'authn.login.failure', reason: 'invalid_credentials', user: { id: 'bob' } },
        { type: 'authn.logout.success', user: { id: 'alice' }, flow: { id: 'flow-1' } },
      ],
      T0,
      DAY / 2, // across three days: three partitions
    );
  });

  test('is the embedded engine, with its database and lock in the directory', async () => {
    expect(s.engine).toBe('embedded');
    expect(await s.migrate()).toEqual({ version: SCHEMA_VERSION, applied: expect.any(Array) });
    expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
    // The lock names this process: pid, host, command, since when.
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toMatch(
      new RegExp(`^${process.pid} [0-9a-f]+\\nhost .+\\nstarted .+\\nsince .+\\ncommand .+\\n`),
    );
  });

  test('inserts idempotently: a replayed batch counts as duplicates', async () => {
    expect(await s.insert(batch)).toEqual({ inserted: 4, duplicates: 0 });
    expect(await s.insert(batch.slice(1, 3))).toEqual({ inserted: 0, duplicates: 2 });
  });

  test('queries, counts, ranks and follows a trail', async () => {
    const failures = await s.query({ where: compileQuery('outcome:failure'), order: 'asc' });
    expect(failures.events.map((e) => e.user?.id)).toEqual(['alice', 'bob']);
    const first = await s.query({ limit: 1 });
    expect(first.events).toHaveLength(1);
    const second = await s.query({ limit: 3, after: first.next });
    expect(second.events.map((e) => e.id)).toEqual(
      [...batch]
        .reverse()
        .slice(1)
        .map((e) => e.id),
    );
    expect(await s.count({ interval: '1d', by: 'outcome' })).toEqual([
      { start: '2026-03-01T00:00:00.000Z', key: 'failure', count: 1 },
      { start: '2026-03-01T00:00:00.000Z', key: 'success', count: 1 },
      { start: '2026-03-02T00:00:00.000Z', key: 'failure', count: 1 },
      { start: '2026-03-02T00:00:00.000Z', key: 'success', count: 1 },
    ]);
    expect(await s.top({ field: 'user' })).toEqual([
      { key: 'alice', count: 3 },
      { key: 'bob', count: 1 },
    ]);
    const trail = await s.trail('flow-1');
    expect(trail.flow.map((e) => e.type)).toEqual(['authn.login.success', 'authn.logout.success']);
  });

  test('retain drops whole old days and reports what they held', async () => {
    const dropped = await s.retain({ days: 1, now: new Date(Date.UTC(2026, 2, 3, 1)) });
    expect(dropped.map((d) => [d.day, d.rows])).toEqual([['2026-03-01', 2]]);
    expect((await s.query({})).events).toHaveLength(2);
  });

  test('a second store of the directory in this process is ERR_AUTHTRAIL_STORE_LOCKED naming this process', () => {
    expect(() => embeddedStore({ directory: dir })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_STORE_LOCKED',
        message: expect.stringContaining(`is open already in this process (pid ${process.pid})`),
      }),
    );
  });

  test('after close, the lock is released and a reopened store has every event', async () => {
    await s.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    await expect(s.query({})).rejects.toMatchObject({ code: 'ERR_AUTHTRAIL_CLOSED' });
    const again = store({ directory: dir, readOnly: true });
    expect((await again.query({ order: 'asc' })).events.map((e) => e.id)).toEqual(
      batch.slice(2).map((e) => e.id),
    );
    // A reader refuses writes, with the embedded store's name in the message.
    await expect(again.insert(batch)).rejects.toMatchObject({
      code: 'ERR_AUTHTRAIL_STORE_FAILED',
      message: expect.stringMatching(/^embeddedStore: opened with readOnly/),
    });
    await again.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });
});

test('writes are checkpointed within checkpointIntervalMs of being made, not only at close', async () => {
  const dir = tempDir();
  const s = store({ directory: dir, checkpointIntervalMs: 100 });
  await s.migrate();
  const control = join(dir, 'pgdata', 'global', 'pg_control');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(500); // the migration's checkpoint
  const before = readFileSync(control);
  await sleep(300);
  // Nothing written: no checkpoint.
  expect(readFileSync(control).equals(before)).toBe(true);
  await s.insert(await events([{ type: 'authn.login.success', user: { id: 'carol' } }], T0));
  // A checkpoint records its position in pg_control.
  for (let i = 0; i < 50 && readFileSync(control).equals(before); i++) await sleep(100);
  expect(readFileSync(control).equals(before)).toBe(false);
});
