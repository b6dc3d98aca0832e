import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Lock files that keep two writers (processes, or auditors of one process) out of one set of
 * files. A lock holds `<pid> <token>`; one whose process is gone is stale and is taken over. No
 * two callers ever both get a lock, including two that find the same stale lock at once: the
 * stale lock is moved aside in one rename and checked before a new one is linked into place.
 *
 * Liveness is judged by pid, so the files belong to one host (one pid namespace).
 */

/** Locks held by this process, by path, with their token: a lock naming our pid is ours only if listed. */
const held = new Map<string, string>();

/** Takes the lock file `lock`; returns its release, or undefined when a live writer holds it. */
export function tryLock(lock: string): (() => void) | undefined {
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid} ${token}\n`;
  // Written beside the lock and linked into place, so the lock never exists half-written (a reader
  // would take an empty lock for a stale one).
  const draft = `${lock}.${process.pid}.${token}`;
  writeFileSync(draft, content, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (create(draft, lock, content)) {
        held.set(lock, token);
        return () => release(lock, token);
      }
      const found = readOrUndefined(lock);
      if (found === undefined) continue; // released meanwhile: try again
      if (alive(lock, found)) return undefined;
      // Stale. Moved aside atomically; if what was moved is not what we judged stale, another writer
      // took the lock in between: it goes back, and the lock is theirs.
      const aside = `${lock}.stale.${process.pid}.${token}`;
      try {
        renameSync(lock, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const moved = readOrUndefined(aside);
      if (moved !== found) {
        try {
          linkSync(aside, lock);
        } catch {
          // a third writer took the lock meanwhile: it is theirs
        }
        unlinkQuietly(aside);
        return undefined;
      }
      unlinkQuietly(aside);
    }
    return undefined;
  } finally {
    unlinkQuietly(draft);
  }
}

/** True when `lock` now holds `content` and was created by this call. */
function create(draft: string, lock: string, content: string): boolean {
  try {
    linkSync(draft, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
  }
  // A file system without hard links: exclusive create (a reader may see it empty for a moment).
  try {
    writeFileSync(lock, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function alive(lock: string, content: string): boolean {
  const m = /^(\d+) ([0-9a-f]+)\n$/.exec(content);
  if (!m) return false;
  const pid = Number(m[1]);
  // Our own pid: a container restarts its app under the same pid, so only the locks this process
  // took are live.
  if (pid === process.pid) return held.get(lock) === m[2];
  return processAlive(pid);
}

/** Whether a process of this pid runs on this host (one we may not signal runs too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function release(lock: string, token: string): void {
  if (held.get(lock) !== token) return;
  held.delete(lock);
  if (readOrUndefined(lock) === `${process.pid} ${token}\n`) unlinkQuietly(lock);
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
