import { EventTypes as T, type AuditEvent, type ManualEvent } from '@authtrail/schema';
import type { DetectorState } from './types.js';
import { shapeOf, type OptionCheck, type SignInGuard, type SinkHost } from '@authtrail/core/sink';

/**
 * Option `enforce` of {@link detectors}: lock an account for one IP when `brute_force` fires on it,
 * answering its sign-ins from that IP with 429 and `Retry-After` until the lock ends, before the
 * password is checked. Needs the auditor's `signIn` routes (the form it guards).
 */
export interface EnforceOptions {
  /**
   * How long a lock lasts, in seconds (1 to 86,400). The default is brute_force's window: when the
   * lock ends, the failures that set it have left the window, so ten more set it again.
   * @default builtIns.brute_force.window_s (900)
   */
  lockout_s?: number;
  /**
   * Locks held at once (1 to 1,000,000; about 300 bytes each). Past it, the lock ending soonest is
   * lifted early, and its end recorded. @default 10000
   */
  maxLocks?: number;
}

export interface ResolvedEnforce {
  readonly lockout_s: number;
  readonly maxLocks: number;
}

/** `enforce` checked: `true` or an options object turns it on, and needs `brute_force`. */
export function resolveEnforce(
  check: OptionCheck<unknown>,
  value: unknown,
  brute: { window_s: number } | undefined,
): ResolvedEnforce | undefined {
  if (value === undefined || value === false) return undefined;
  const o = value === true ? {} : check.object('enforce', value, 'use true, or { lockout_s }');
  if (!o) return undefined;
  check.known('enforce', o, ['lockout_s', 'maxLocks']);
  if (!brute)
    check.issue(
      'enforce',
      shapeOf(value),
      'enforcement locks what builtIns.brute_force detects: turn brute_force on, or leave enforce out',
    );
  return Object.freeze({
    lockout_s: check.int('enforce.lockout_s', o.lockout_s, brute?.window_s ?? 900, 1, 86_400),
    maxLocks: check.int('enforce.maxLocks', o.maxLocks, 10_000, 1, 1_000_000),
  });
}

/**
 * One lock: the IP's hash (to keep its index right), when it ends, and whether this instance set
 * it (then it records its end) or heard of it from another sharing the state. Nothing raw.
 */
interface Lock {
  readonly ip: string;
  readonly until: number;
  readonly own: boolean;
}

/** Counters of enforcement, in `stats().enforce`. */
export interface EnforceStats {
  /** Locks held now. */
  locks: number;
  /** Locks this instance set; heard of from other instances (a shared state); lifted early to stay within `maxLocks`. */
  locked: number;
  heard: number;
  evicted: number;
}

/**
 * The lock table the request path reads: in this process's memory, so a request never waits on
 * anything remote; keyed by keyed hashes (the `brute_force` detection's key, of account and IP, and
 * the IP's own), never a raw value; at most `maxLocks` locks. Locks end on one unref'd timer set for
 * the soonest end: every lock lasts `lockout_s`, so the table's insertion order is its end order.
 */
export function lockTable(o: ResolvedEnforce, host: SinkHost, state: DetectorState) {
  const locks = new Map<string, Lock>();
  // IP hash -> its locks held, and the latest end among them.
  const byIp = new Map<string, { n: number; until: number }>();
  const counts = { locked: 0, heard: 0, evicted: 0 };
  let timer: NodeJS.Timeout | undefined;
  let role: AuditEvent['observer']['role'] = 'op';

  function record(input: ManualEvent): void {
    try {
      host.record(input);
    } catch {
      // Closed: the lock still ends, its event cannot be recorded any more.
    }
  }
  function end(key: string, lock: Lock, at: number): void {
    locks.delete(key);
    const ip = byIp.get(lock.ip);
    if (ip && --ip.n === 0) byIp.delete(lock.ip);
    // Another instance's lock is that instance's to record.
    if (!lock.own) return;
    record({
      type: T.LOCKOUT_END_SUCCESS,
      observer: { role },
      lockout: { key, until: new Date(at).toISOString(), lockout_s: o.lockout_s },
    });
  }
  /** Ends the locks whose time is up, then waits for the next one. */
  function sweep(): void {
    timer = undefined;
    const now = Date.now();
    for (const [key, lock] of locks) {
      if (lock.until > now) break;
      end(key, lock, lock.until);
    }
    const next = locks.values().next().value;
    if (next) timer = setTimeout(sweep, Math.max(0, next.until - now) + 1).unref();
  }
  const secondsLeft = (until: number) => Math.max(0, (until - Date.now()) / 1000);

  /** Holds a lock until `until` (ms): a lock set again starts over, the table stays in its bound. */
  function hold(key: string, ip: string, until: number, own: boolean): void {
    const now = Date.now();
    const held = locks.get(key);
    if (held) end(key, held, now);
    if (locks.size >= o.maxLocks) {
      const [oldest, lock] = locks.entries().next().value!;
      counts.evicted++;
      end(oldest, lock, now);
    }
    locks.set(key, { ip, until, own });
    const index = byIp.get(ip);
    if (index) {
      index.n++;
      index.until = Math.max(index.until, until);
    } else byIp.set(ip, { n: 1, until });
    // Every lock lasts about as long: the soonest end is the first one's, and a timer is set for it.
    timer ??= setTimeout(sweep, Math.max(0, until - now) + 1).unref();
  }
  // Other instances' locks (a shared state): held here too, so every instance refuses the attempt.
  const sharing = state.shareLocks?.((lock) => {
    if (
      typeof lock?.key !== 'string' ||
      typeof lock.ip !== 'string' ||
      typeof lock.until !== 'number' ||
      lock.until <= Date.now() ||
      (locks.get(lock.key)?.until ?? 0) >= lock.until
    )
      return;
    counts.heard++;
    hold(lock.key, lock.ip, Math.min(lock.until, Date.now() + o.lockout_s * 1000), false);
  });

  const guard: SignInGuard = {
    watches(ip) {
      const held = byIp.get(host.fingerprint(ip));
      return held ? secondsLeft(held.until) : 0;
    },
    lockedFor(user, ip) {
      const account = user.hash ?? (user.id === undefined ? undefined : host.fingerprint(user.id));
      if (account === undefined) return 0;
      const lock = locks.get(host.fingerprint(`${account}\u0000${ip}`));
      return lock ? secondsLeft(lock.until) : 0;
    },
  };

  return {
    guard,
    /** Locks `key` (a brute_force detection's) for the account and IP of `detected`, its decision. */
    lock(key: string, detected: AuditEvent): void {
      const ip = detected.source?.ip;
      if (ip === undefined) return;
      role = detected.observer.role;
      const until = Date.now() + o.lockout_s * 1000;
      const ipHash = host.fingerprint(ip);
      hold(key, ipHash, until, true);
      sharing?.share({ key, ip: ipHash, until });
      counts.locked++;
      const user = detected.user;
      record({
        type: T.LOCKOUT_SUCCESS,
        observer: { role },
        user: user && (user.id !== undefined ? { id: user.id } : { hash: user.hash }),
        client: detected.client,
        source: { ip },
        lockout: { key, until: new Date(until).toISOString(), lockout_s: o.lockout_s },
      });
    },
    stats: (): EnforceStats => ({ locks: locks.size, ...counts }),
    /** Forgets every lock: they end with the process, unrecorded (the auditor is closing). */
    async close(): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = undefined;
      locks.clear();
      byIp.clear();
      await sharing?.close?.();
    },
  };
}
