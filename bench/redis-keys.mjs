// Shared by the benchmarks that keep detector state in Redis: deleting what a run left there.
import Redis from 'ioredis';

/** Deletes every key under `prefix` in the Redis at `url`. */
export async function dropRedisKeys(url, prefix) {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
