// A PostgreSQL restart during load loses nothing with overflow 'spill': a throwaway cluster of
// its own (initdb in a temp directory, a free port), killed (`-m immediate`, as a crash) and
// started again while an auditor writes through storeSink. Every recorded event is then in the
// table exactly once: failed writes were retried, the overflow spilled and replayed, and a batch
// committed before its answer was lost was not stored twice.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createAuditor } from '@authtrail/core';
import { storeSink } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';

const run = promisify(execFile);
const bin = readdirSync('/usr/lib/postgresql', { withFileTypes: true })
  .filter((d) => existsSync(join('/usr/lib/postgresql', d.name, 'bin', 'pg_ctl')))
  .map((d) => join('/usr/lib/postgresql', d.name, 'bin'))
  .sort()
  .pop();
// initdb and postgres refuse to run as root: as root, run them as the postgres account.
const asRoot = process.getuid?.() === 0;
const pgCommand = (tool: string, args: string[]) =>
  asRoot
    ? run('runuser', ['-u', 'postgres', '--', join(bin!, tool), ...args])
    : run(join(bin!, tool), args);

let dir: string;
let port: number;
const data = () => join(dir, 'data');
const start = () =>
  pgCommand('pg_ctl', [
    '-D',
    data(),
    '-w',
    '-l',
    join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB`,
    'start',
  ]);
const stop = () => pgCommand('pg_ctl', ['-D', data(), '-m', 'immediate', '-w', 'stop']);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authtrail-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout), Number(gid));
  }
  port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  await pgCommand('initdb', [
    '-D',
    data(),
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '--locale=C',
    '-E',
    'UTF8',
  ]);
  await start();
}, 30_000);

afterAll(async () => {
  await stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

(bin ? test : test.skip)(
  'a PostgreSQL restart during load loses nothing and duplicates nothing with overflow spill',
  async () => {
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const auditor = createAuditor({
      sinks: [storeSink(postgresStore({ connectionString: url, connectTimeoutMs: 500 }))],
      keys: { fingerprint: 'restart-test-fingerprint-key-0123456789' },
      delivery: {
        overflow: 'spill',
        spillDir: join(dir, 'spill'),
        maxQueue: 300,
        maxBatch: 100,
        minRetryDelayMs: 20,
        maxRetryDelayMs: 200,
        closeTimeoutMs: 15_000,
        handleSignals: false,
      },
    });
    const ids: string[] = [];
    const load = (async () => {
      for (let chunk = 0; chunk < 60; chunk++) {
        for (let i = 0; i < 100; i++)
          ids.push(auditor.record({ type: 'app.export.success', user: { id: `u-${i}` } }).id);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await stop();
    await new Promise((resolve) => setTimeout(resolve, 800));
    await start();
    await load;
    await auditor.close();

    const stats = auditor.stats();
    // The outage was seen: writes failed, and the queue overflowed into the spill file.
    expect(stats.failed).toBeGreaterThan(0);
    expect(stats.spilled).toBeGreaterThan(0);
    expect(stats.dropped).toBe(0);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; n: number }>(
        `SELECT id::text, count(*)::int AS n FROM authtrail.authtrail_events WHERE type = 'app.export.success' GROUP BY id`,
      );
      expect(ids).toHaveLength(6000);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    } finally {
      await client.end();
    }
  },
  30_000,
);
