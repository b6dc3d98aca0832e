import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';

/**
 * Lock files that keep two writers (processes, or auditors of one process) out of one set of
 * files. A lock's first line is `<pid> <token>`; one whose process is gone is stale and is taken
 * over. No two callers ever both get a lock, including two that find the same stale lock at once:
 * the stale lock is moved aside in one rename and checked before a new one is linked into place.
 *
 * A lock taken with `record` also names its holder, one field a line after the first (host, process
 * start, lock time, command, and on Linux the boot and start tick of the process), so that a
 * refused caller can say who holds it. A recorded host other than this one is never judged by pid
 * (another host's pids mean nothing here): its lock is live until removed by hand. Spill slots and
 * chain states keep the one-line lock: an older authtrail reads any other content as stale.
 */

/** Who holds a lock, as its file records it (a one-line lock records only the pid). */
export interface LockHolder {
  readonly pid: number;
  /** The host it was taken on. */
  readonly host: string | undefined;
  /** When the holding process started (ISO-8601). */
  readonly started: string | undefined;
  /** When it took the lock (ISO-8601). */
  readonly since: string | undefined;
  /** What runs there: the program and script names, never their arguments. */
  readonly command: string | undefined;
  /** The holder is this process (another part of it took the lock). */
  readonly self: boolean;
  /** The holder runs on another host: whether it still runs cannot be checked from here. */
  readonly remote: boolean;
}

/** What {@link takeLock} got: the lock and its release, or who holds it. */
export type LockAttempt =
  | { readonly release: () => void; readonly holder?: undefined }
  | { readonly release?: undefined; readonly holder: LockHolder };

/** Locks held by this process, by path, with their content: a lock naming our pid is ours only if listed. */
const held = new Map<string, string>();

/** Takes the lock file `lock`; returns its release, or undefined when a live writer holds it. */
export function tryLock(lock: string): (() => void) | undefined {
  return takeLock(lock).release;
}

/**
 * Takes the lock file `lock`, or says who holds it. With `record`, the lock names this process
 * (see the module's comment).
 */
export function takeLock(lock: string, options: { record?: boolean } = {}): LockAttempt {
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid} ${token}\n${options.record === true ? record() : ''}`;
  // Written beside the lock and linked into place, so the lock never exists half-written (a reader
  // would take an empty lock for a stale one).
  const draft = `${lock}.${process.pid}.${token}`;
  writeFileSync(draft, content, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (create(draft, lock, content)) {
        held.set(lock, content);
        return { release: () => release(lock, content) };
      }
      const found = readOrUndefined(lock);
      if (found === undefined) continue; // released meanwhile: try again
      const holder = live(lock, found);
      if (holder) return { holder };
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
        return { holder: describe(moved ?? '') ?? unknownHolder() };
      }
      unlinkQuietly(aside);
    }
    return { holder: describe(readOrUndefined(lock) ?? '') ?? unknownHolder() };
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

/** The lines a recorded lock adds after `<pid> <token>`. */
function record(): string {
  const started = new Date(Date.now() - process.uptime() * 1000).toISOString();
  // The program and the script, never the arguments: a --store URL may hold a password.
  const command = [process.argv0, process.argv[1]]
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .map((part) => basename(part))
    .join(' ');
  const proc = processIdentity(process.pid);
  return (
    `host ${oneLine(hostname())}\nstarted ${started}\nsince ${new Date().toISOString()}\n` +
    `command ${oneLine(command)}\n${proc === undefined ? '' : `proc ${proc}\n`}`
  );
}

/** The holder of a live lock, or undefined when the lock is stale. */
function live(lock: string, content: string): LockHolder | undefined {
  const holder = describe(content);
  if (holder === undefined) return undefined;
  if (holder.remote) return holder;
  // Our own pid: a container restarts its app under the same pid, so only the locks this process
  // took are live.
  if (holder.pid === process.pid) return held.get(lock) === content ? holder : undefined;
  // The pid runs, but is it the process that took the lock? After a reboot, or once pids wrap,
  // another process may have that pid: on Linux, its boot and start tick tell.
  const recorded = /^proc (.+)$/m.exec(content)?.[1];
  if (recorded !== undefined) {
    const now = processIdentity(holder.pid);
    if (now !== undefined && now !== recorded) return undefined;
  }
  return processAlive(holder.pid) ? holder : undefined;
}

/** What a lock's content says of its holder; undefined for a malformed (half-written) lock. */
function describe(content: string): LockHolder | undefined {
  const m = /^(\d+) [0-9a-f]+\n((?:[a-z]+ [^\n]*\n)*)$/.exec(content);
  if (!m) return undefined;
  // Anyone may write a lock file: what it says is shown in messages, so it is made one printable line.
  const field = (name: string) => {
    const value = new RegExp(`^${name} (.*)$`, 'm').exec(m[2]!)?.[1];
    return value === undefined ? undefined : oneLine(value);
  };
  const pid = Number(m[1]);
  if (!(pid > 0)) return undefined; // kill(0) would signal our own group and find it alive
  const host = field('host');
  const remote = host !== undefined && host !== oneLine(hostname());
  return {
    pid,
    host,
    started: field('started'),
    since: field('since'),
    command: field('command'),
    self: !remote && pid === process.pid,
    remote,
  };
}

function unknownHolder(): LockHolder {
  return {
    pid: 0,
    host: undefined,
    started: undefined,
    since: undefined,
    command: undefined,
    self: false,
    remote: false,
  };
}

/** A recorded field: one line of printable characters (no control, no bidi override), bounded. */
function oneLine(text: string): string {
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g; // eslint-disable-line no-control-regex
  return text.replace(unsafe, '?').slice(0, 200);
}

/** `<boot id> <start tick>` of a process on Linux (undefined elsewhere, or when it is gone). */
function processIdentity(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The 22nd field; the 2nd, the command name, is in parentheses and may hold spaces.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : `${boot} ${start}`;
  } catch {
    return undefined;
  }
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

function release(lock: string, content: string): void {
  if (held.get(lock) !== content) return;
  held.delete(lock);
  if (readOrUndefined(lock) === content) unlinkQuietly(lock);
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
