import type { LockSharing, SharedLock } from '@authtrail/detect';
import type { Redis } from 'ioredis';

/** Locks loaded per SCAN step when a subscriber (re)connects. */
const SCAN_COUNT = 200;

/**
 * Enforcement's locks through Redis, so that every instance refuses a locked account and IP. Each
 * lock is a key `<prefix>lock:<lock key>` holding `{ ip, until }` (keyed hashes and a time),
 * expiring with the lock, for the instances that connect (or reconnect) while it runs; and a
 * message on the channel `<prefix>locks` for those connected now. Its own subscriber connection,
 * never on a request's path: sharing is fire and forget, a lost message or a Redis that is down
 * only leaves each instance with the locks it set.
 */
export function redisLocks(
  client: Redis,
  prefix: string,
  heard: (lock: SharedLock) => void,
): LockSharing {
  const channel = `${prefix}locks`;
  const keyPrefix = `${prefix}lock:`;
  // Offline queue on: the subscription is made once connected, and again after a reconnect.
  const subscriber = client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
  subscriber.on('error', () => {}); // what `status` tells; unhandled, ioredis prints it
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const lock = parse(message);
    if (lock) heard(lock);
  });
  subscriber.subscribe(channel).catch(() => {});
  // Each (re)connection: the locks still running, set while this instance was away.
  subscriber.on('ready', () => void load());

  async function load(): Promise<void> {
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(
          cursor,
          'MATCH',
          `${glob(keyPrefix)}*`,
          'COUNT',
          SCAN_COUNT,
        );
        cursor = next;
        if (keys.length === 0) continue;
        const values = await client.mget(...keys);
        keys.forEach((k, i) => {
          const lock = parse(values[i] ?? null, k.slice(keyPrefix.length));
          if (lock) heard(lock);
        });
      } while (cursor !== '0');
    } catch {
      // Redis went away mid-way: the next connection loads them again.
    }
  }

  return {
    share(lock) {
      const ttl = Math.ceil(lock.until - Date.now());
      if (ttl <= 0) return;
      client
        .multi()
        .set(
          `${keyPrefix}${lock.key}`,
          JSON.stringify({ ip: lock.ip, until: lock.until }),
          'PX',
          ttl,
        )
        .publish(channel, JSON.stringify(lock))
        .exec()
        .catch(() => {});
    },
    close: async () => subscriber.disconnect(),
  };
}

/** A lock from a message (`{ key, ip, until }`) or a lock key's value (`{ ip, until }` and its key). */
function parse(text: string | null, key?: string): SharedLock | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SharedLock>;
    const lock = { key: key ?? v.key, ip: v.ip, until: v.until };
    return typeof lock.key === 'string' &&
      typeof lock.ip === 'string' &&
      typeof lock.until === 'number'
      ? (lock as SharedLock)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `text` matched literally by a SCAN pattern: its glob characters escaped. */
function glob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
