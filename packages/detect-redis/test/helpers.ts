import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A prefix of this test's own, and a client to read what the state wrote under it. */
export function testPrefix(): {
  prefix: string;
  redis: Redis;
  keys(): Promise<string[]>;
  drop(): Promise<void>;
} {
  const prefix = `authtrail-test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  return {
    prefix,
    redis,
    keys,
    async drop() {
      const all = await keys();
      if (all.length > 0) await redis.del(...all);
      await redis.quit();
    },
  };
}
