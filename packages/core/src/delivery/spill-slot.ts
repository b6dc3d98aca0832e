import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from '../internal/pid-lock.js';

/**
 * Spill files are owned per process. Each sink's spill files live in numbered slots: slot 0 is
 * `<stem>.jsonl` (+ `.head.jsonl`, `.quarantine`), slot n is `<stem>~n.…`. A slot is held by
 * the lock file `<base>.lock` (see `internal/pid-lock.ts`): a lock whose process is gone is
 * taken over. Two auditors (in one process or in many, e.g. cluster workers) therefore never
 * append to, read or remove the same file, and the files of a dead process are adopted by the
 * next one that starts.
 *
 * Liveness is judged by pid, so a spill directory belongs to one host (one pid namespace).
 */
export interface SpillSlot {
  /** Path of the slot's files without extension: `<dir>/<stem>` or `<dir>/<stem>~<n>`. */
  readonly base: string;
  /** Gives the slot up (its files stay for whoever takes it next). */
  release(): void;
}

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Creates the spill directory (0700: spilled events are as private as the log). */
export function spillDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
}

/** Takes the lowest slot of `stem` that no live auditor holds. */
export function takeSlot(dir: string, stem: string): SpillSlot {
  // Bounded so that a directory we cannot write to ends in an error, not a loop.
  for (let n = 0; n < 4096; n++) {
    const slot = tryTake(join(dir, n === 0 ? stem : `${stem}~${n}`));
    if (slot) return slot;
  }
  throw new Error(`no free spill slot for ${stem} in ${dir}`);
}

/**
 * Slots of `stem` that hold spill files and no live holder (a process that died, or an auditor
 * that closed before its sink took everything): taken, so that this process replays them.
 */
export function adoptOrphans(dir: string, stem: string): SpillSlot[] {
  const bases = new Set<string>();
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(stem)) continue;
    const rest = name.slice(stem.length);
    const m = /^(~\d+)?\.(?:head\.)?jsonl$/.exec(rest);
    if (m) bases.add(join(dir, stem + (m[1] ?? '')));
  }
  const slots: SpillSlot[] = [];
  for (const base of [...bases].sort(bySlot)) {
    const slot = tryTake(base);
    if (slot) slots.push(slot);
  }
  return slots;
}

function bySlot(a: string, b: string): number {
  const n = (s: string) => Number(/~(\d+)$/.exec(s)?.[1] ?? 0);
  return n(a) - n(b);
}

function tryTake(base: string): SpillSlot | undefined {
  const release = tryLock(`${base}.lock`);
  return release ? { base, release } : undefined;
}
