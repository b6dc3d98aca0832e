import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
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

/** A free TCP port on 127.0.0.1 (for a redis-server of a test's own). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts a redis-server of the test's own on `port` (`args`: more of its options, such as
 * `--requirepass`); resolves once it answers PING (NOAUTH is an answer too). Probed with a bare
 * socket: a client that failed to connect keeps timers.
 */
export async function startRedis(port: number, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return child;
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Kills a redis-server of the test's own (SIGKILL: no save, no goodbye) and waits for it. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}
