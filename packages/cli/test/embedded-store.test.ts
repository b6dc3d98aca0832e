// `authtrail query`, `flow` and `stats` over an embedded store (a directory), run as child
// processes (the built CLI, as a user runs it): named by --store, by AUTHTRAIL_STORE, or found as
// ./.authtrail; and refused, naming the holder, while an app holds the store.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAuditor, memorySink, type AuditEvent } from '@authtrail/core';
import { storeSink } from '@authtrail/store';
import { embeddedStore } from '@authtrail/store-embedded';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const RANGE = ['--from', '2026-03-02T00:00:00Z', '--to', '2026-03-03T00:00:00Z'];
const root = mkdtempSync(join(tmpdir(), 'authtrail-cli-embedded-'));
// The store where an app keeps it by default: ./.authtrail of the app's directory.
const app = join(root, 'app');
const dir = join(app, '.authtrail');
let events: AuditEvent[] = [];

async function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? root,
      env: { ...process.env, NO_COLOR: '', AUTHTRAIL_STORE: '', ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  mkdirSync(app);
  let now = T0;
  const copy = memorySink();
  const auditor = createAuditor({
    sinks: [storeSink(embeddedStore({ directory: dir })), copy],
    service: 'web-rp',
    keys: { fingerprint: 'cli-test-fingerprint-key-0123456789abcdef' },
    clock: () => now,
    // PGlite's first start can take longer than the default 5 s on a busy machine: the close
    // waits for the store, whose lock the CLI needs next.
    delivery: { closeTimeoutMs: 60_000 },
  });
  const at = (ms: number, event: Parameters<typeof auditor.record>[0]) => {
    now = T0 + ms;
    auditor.record(event);
  };
  const flow = { id: 'flow-embedded-1' };
  at(0, { type: 'authn.login_start.success', flow });
  at(1500, {
    type: 'authn.login.failure',
    reason: 'invalid_credentials',
    flow,
    user: { id: 'alice' },
  });
  at(2500, { type: 'authn.login.success', flow, user: { id: 'alice' } });
  at(3_600_000, {
    type: 'authn.login.failure',
    reason: 'invalid_credentials',
    user: { id: 'bob' },
  });
  // Closing the auditor closes the store: its lock is released for the CLI.
  await auditor.close();
  events = copy.events.filter((e) => !e.type.startsWith('audit.'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

test('query reads an embedded store named by --store, by AUTHTRAIL_STORE, or found as ./.authtrail', async () => {
  const failures = events.filter((e) => e.outcome === 'failure').map((e) => e.id);
  const ids = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as AuditEvent).id);
  const byOption = await cli(['query', 'outcome:failure', ...RANGE, '--store', dir]);
  expect(byOption).toMatchObject({ code: 0, stderr: '' });
  expect(ids(byOption.stdout)).toEqual([...failures].reverse());
  const byEnv = await cli(['query', 'outcome:failure', ...RANGE], {
    env: { AUTHTRAIL_STORE: dir },
  });
  expect(ids(byEnv.stdout)).toEqual([...failures].reverse());
  const byDefault = await cli(['query', 'outcome:failure', ...RANGE, '--order', 'asc'], {
    cwd: app,
  });
  expect(ids(byDefault.stdout)).toEqual(failures);
});

test('flow and stats read it too', async () => {
  const flow = await cli(['flow', 'flow-embedded-1'], { cwd: app });
  expect(flow.code).toBe(0);
  expect(flow.stdout).toMatch(
    /^login flow flow-embedded-1: 3 events from 2026-03-02T10:00:00\.000Z, 1 failed$/m,
  );
  const stats = await cli(['stats', ...RANGE, '--format', 'json'], { cwd: app });
  expect(stats.code).toBe(0);
  expect(JSON.parse(stats.stdout).buckets).toEqual([
    { start: '2026-03-02T10:00:00.000Z', key: 'failure', count: 1 },
    { start: '2026-03-02T10:00:00.000Z', key: 'success', count: 2 },
    { start: '2026-03-02T11:00:00.000Z', key: 'failure', count: 1 },
  ]);
});

test('while an app holds the store, the CLI exits 1 naming it and saying what to do', async () => {
  const held = embeddedStore({ directory: dir });
  try {
    await held.migrate();
    const { code, stdout, stderr } = await cli(['query', 'outcome:failure'], { cwd: app });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `cannot open the store at ${dir} to read it: it is held by pid ${process.pid} on host `,
    );
    expect(stderr).toContain(
      'query through that app (its store.query()), or stop it and run this again',
    );
  } finally {
    await held.close();
  }
  // Released: readable again.
  expect((await cli(['query', '', '--store', dir])).code).toBe(0);
});

test('without a store and without ./.authtrail, the CLI says where a store comes from; a directory without one is not found', async () => {
  const none = await cli(['query', '']);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('authtrail: no store: no .authtrail directory here');
  expect(none.stderr).toContain('give --store <directory> or --store postgres://');
  const empty = await cli(['query', '', '--store', join(root, 'empty')]);
  expect(empty.code).toBe(1);
  expect(empty.stderr).toContain(`no store in ${join(root, 'empty')}`);
});
