// Each test works in a directory of its own (mkdtemp), removed afterwards; events are made by a
// real auditor.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh directory under the system's temporary one. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authtrail-embedded-'));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const DAY = 86_400_000;

/** Events made by a real auditor, as the PostgreSQL engine's tests make them. */
export { auditorEvents as events } from '../../store-postgres/test/support.js';

/**
 * `fixtures/hold-store.mjs` in a child process: opens the store at `dir`, inserts `count` events,
 * says so on stdout, and waits to be killed (or, with `keep`, goes on inserting).
 */
export async function holdStore(
  dir: string,
  count: number,
  keep = false,
): Promise<{ child: ChildProcess; stdout: () => string }> {
  const script = join(__dirname, 'fixtures', 'hold-store.mjs');
  const child = spawn(process.execPath, [script, dir, String(count), keep ? 'keep' : ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`hold-store timed out: ${out} ${err}`)),
      25_000,
    );
    child.stdout!.on('data', () => {
      if (out.includes('\nready') || out.startsWith('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hold-store exited ${code}: ${out} ${err}`));
    });
  });
  return { child, stdout: () => out };
}

/** SIGKILLs `child` and waits for it to be gone. */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}
