// The benchmark harness itself: one short round of Koa bare / floor / file through `bench/run.mjs`, as
// `npm run bench` runs it. The figures of so short a run mean nothing; what is checked is that every
// configuration serves, that the log-writing ones have every served request on disk after exit, and
// that the ratios the report is read by are there.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

interface Summary {
  rps: number;
  ratioToBare: number;
  ratioToFloor: number;
  loggedAfterExit?: number;
  bytesPerLine?: number;
  errors: number;
}

test('npm run bench measures bare, the floor and authtrail side by side and reports ratios to both', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      'bench/run.mjs',
      '--framework=koa',
      '--configs=bare,floor,file',
      '--rounds=1',
      '--duration=1',
      '--connections=10',
    ],
    { cwd: ROOT, timeout: 90_000 },
  );
  const file = /Results: (\S+\.json)/.exec(stdout)?.[1];
  expect(file).toBeDefined();
  const path = join(ROOT, file!);
  try {
    const { summary } = JSON.parse(readFileSync(path, 'utf8')) as {
      summary: Record<'bare' | 'floor' | 'file', Summary>;
    };
    for (const config of ['bare', 'floor', 'file'] as const) {
      expect(summary[config].rps).toBeGreaterThan(100);
      expect(summary[config].errors).toBe(0);
    }
    expect(summary.bare.ratioToBare).toBe(1);
    expect(summary.floor.ratioToFloor).toBe(1);
    expect(summary.file.ratioToFloor).toBeGreaterThan(0);
    // Every request served is a line on disk once the server has exited.
    expect(summary.floor.loggedAfterExit).toBeGreaterThanOrEqual(1);
    expect(summary.file.loggedAfterExit).toBeGreaterThanOrEqual(1);
    // authtrail's full event is the longer line: the floor is the lower bound, not the same work.
    expect(summary.file.bytesPerLine).toBeGreaterThan(summary.floor.bytesPerLine!);
    expect(stdout).toMatch(/\| config \| req\/s \| ratio to bare \| ratio to floor \|/);
  } finally {
    rmSync(path, { force: true });
  }
  // Three server processes started, warmed up and measured in turn: far past jest's 30 s on a
  // machine busy with the rest of the suite.
}, 120_000);
