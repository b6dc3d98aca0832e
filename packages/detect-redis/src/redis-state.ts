import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { AuthtrailError, checkOptions, shapeOf } from '@authtrail/core/sink';
import {
  memoryState,
  type DetectorState,
  type StateChange,
  type StateOp,
  type StateResult,
} from '@authtrail/detect';
import { Redis, type RedisOptions } from 'ioredis';
import { SCRIPT } from './internal/script.js';
import { redisLocks } from './internal/locks.js';
import { redisSilences } from './internal/silences.js';
import { timely } from './internal/timely.js';

/** Options of {@link redisState}. */
export interface RedisStateOptions {
  /**
   * The Redis to keep the counts in: a client you made (yours to close), or the options or URL
   * (`redis://…`, `rediss://…`) of one this state makes and closes.
   * @default 'redis://127.0.0.1:6379'
   */
  redis?: Redis | RedisOptions | string;
  /**
   * The start of every key: `<prefix><detector>#<rule>:<keyed hash>`. Instances that are to see
   * one attack whole share it; give a different one to keep two deployments apart.
   * @default 'authtrail:detect:'
   */
  prefix?: string;
  /**
   * How long a batch waits for Redis before it is counted in this process instead.
   * @default 200
   */
  timeoutMs?: number;
  /**
   * Called once when batches start being counted in this process (Redis failed or was slow), with
   * an `AuthtrailError` of code `ERR_AUTHTRAIL_STORE_UNAVAILABLE`: record it, alert on it.
   */
  onFallback?: (error: AuthtrailError) => void;
  /** Called once when a batch is counted on Redis again after a fallback. */
  onRecover?: () => void;
}

/** The counters of a {@link redisState}: the engine's `keys`/`evicted`, and where batches went. */
export interface RedisStateStats {
  /** Keys of the local state (batches counted in this process while Redis was away). */
  keys: number;
  evicted: number;
  /** Batches applied on Redis. */
  batches: number;
  /** Batches counted in this process because Redis failed or did not answer in time. */
  fallbacks: number;
  /** Whether the last batch was applied on Redis. */
  shared: boolean;
}

/** A {@link DetectorState} whose `stats()` says where its batches went. */
export interface RedisDetectorState extends DetectorState {
  stats(): RedisStateStats;
  /** Closes the client this state made (not one you gave it). */
  close(): Promise<void>;
}

/**
 * The result of one op as the script answers it: f(ired), c(ount), first i(d) and t(ime), and a
 * surge's t(h)reshold.
 */
interface Answer {
  f: boolean;
  c: number;
  i?: string;
  t?: number;
  h?: number;
}

const KINDS = { count: 1, consecutive: 1, distinct: 2, sequence: 3, bucket: 4, surge: 5 } as const;
/** A connection on its way: a batch waits for it (within `timeoutMs`) rather than fall back. */
const CONNECTING = new Set(['wait', 'connecting', 'connect']);
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * Detector state shared through Redis: every instance of an app given the same Redis and prefix
 * counts into the same keys, so ten wrong passwords spread over three instances are one brute
 * force. Each batch of ops is one Lua script call: one round trip, applied atomically, with the
 * same answers as {@link memoryState}. Redis keeps keyed hashes only (never an account, IP or
 * token), each key expiring with its window.
 *
 * When Redis fails or answers later than `timeoutMs`, the batch is counted in this process
 * instead (`stats().fallbacks`, `onFallback`), and the next batches try Redis again: detection
 * goes on, per instance, until Redis is back.
 * @example
 * import { detectors } from '@authtrail/detect';
 * import { redisState } from '@authtrail/detect-redis';
 *
 * const auditor = createAuditor({
 *   sinks: [fileSink('audit.jsonl'), detectors({ state: redisState({ redis: process.env.REDIS_URL }) })],
 * });
 */
export function redisState(options: RedisStateOptions = {}): RedisDetectorState {
  const check = checkOptions('redisState', options, '');
  const o = check.o;
  check.known('', o, ['redis', 'prefix', 'timeoutMs', 'onFallback', 'onRecover']);
  const prefix = o.prefix ?? 'authtrail:detect:';
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200)
    check.issue('prefix', shapeOf(prefix), "use a non-empty string, e.g. 'myapp:detect:'");
  const timeoutMs = check.int('timeoutMs', o.timeoutMs, 200, 1, 60_000);
  for (const name of ['onFallback', 'onRecover'] as const)
    if (o[name] !== undefined && typeof o[name] !== 'function')
      check.issue(name, shapeOf(o[name]), 'use a function');
  const given = o.redis ?? 'redis://127.0.0.1:6379';
  // By shape, not `instanceof`: the app's ioredis may be another copy than ours.
  const isClient =
    given instanceof Redis ||
    (typeof given === 'object' &&
      given !== null &&
      typeof (given as { evalsha?: unknown }).evalsha === 'function' &&
      typeof (given as { status?: unknown }).status === 'string');
  if (typeof given === 'string') {
    if (!/^rediss?:\/\/./.test(given))
      check.issue('redis', shapeOf(given), 'use a redis:// or rediss:// URL, options or a client');
  } else if (!isClient && (given === null || typeof given !== 'object' || Array.isArray(given)))
    check.issue('redis', shapeOf(given), 'use an ioredis client, its options or a redis:// URL');
  check.done();

  const client = isClient ? (given as Redis) : connect(given as RedisOptions | string);
  const local = memoryState();
  const counts = { batches: 0, fallbacks: 0 };
  let shared = true;
  /** The engines using this state: each records the fallback and the recovery in its trail. */
  const listeners = new Set<(change: StateChange) => void>();
  const tell = (change: StateChange) => {
    for (const listener of listeners) notify(() => listener(change));
  };

  /** One round trip: EVALSHA, and the script itself when this Redis does not hold it yet. */
  async function run(ops: readonly StateOp[]): Promise<string> {
    const keys = ops.map((op) => `${prefix}${op.slot}:${op.key}`);
    const args = JSON.stringify(ops.map(encode));
    try {
      return (await client.evalsha(SHA, keys.length, ...keys, args)) as string;
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return (await client.eval(SCRIPT, keys.length, ...keys, args)) as string;
    }
  }

  /** Connected, or connecting (at start, or an attempt under way): then waits for it, in the time limit. */
  async function connected(signal: AbortSignal): Promise<void> {
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => {});
    await once(client, 'ready', { signal });
  }

  function fallback(ops: readonly StateOp[], why: string, late = false): readonly StateResult[] {
    counts.fallbacks++;
    if (shared) {
      shared = false;
      tell({ state: 'local', reason: late ? 'store_timeout' : 'store_unavailable' });
      notify(() =>
        o.onFallback?.(
          new AuthtrailError(
            'ERR_AUTHTRAIL_STORE_UNAVAILABLE',
            `authtrail: the detector state on Redis ${why}; counting in this process until it ` +
              'answers again (detections then see only this instance). Check that Redis is up ' +
              'and reachable, or raise redisState({ timeoutMs })',
          ),
        ),
      );
    }
    return local.apply(ops) as readonly StateResult[];
  }

  return {
    async apply(ops) {
      // Waiting for a retry after a lost connection: the batch is counted here at once.
      if (!CONNECTING.has(client.status) && client.status !== 'ready')
        return fallback(ops, `is not connected (${client.status})`);
      const answer = await timely(connected, () => run(ops), timeoutMs);
      if (!('raw' in answer)) return fallback(ops, answer.problem, answer.late);
      counts.batches++;
      if (!shared) {
        shared = true;
        tell({ state: 'shared' });
        notify(() => o.onRecover?.());
      }
      return (JSON.parse(answer.raw) as Answer[]).map(decode);
    },
    stats: () => ({ ...local.stats(), ...counts, shared }),
    listen(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (isClient) return;
      await client.quit().catch(() => client.disconnect());
    },
    // Enforcement's locks, told to every instance: a key per lock and a channel (internal/locks.ts).
    shareLocks: (heard) => redisLocks(client, prefix, heard),
    // The silence rules (`silent_pipeline`): their own small script, the same fallback.
    ...redisSilences({
      client,
      prefix,
      timeoutMs,
      connected,
      reachable: () => CONNECTING.has(client.status) || client.status === 'ready',
      failed: (why) => void fallback([], why),
      answered() {
        if (shared) return;
        shared = true;
        notify(() => o.onRecover?.());
      },
    }),
  };
}

function connect(given: RedisOptions | string): Redis {
  // Commands fail at once while disconnected rather than queue: a batch falls back instead.
  const client =
    typeof given === 'string'
      ? new Redis(given, { enableOfflineQueue: false })
      : new Redis({ enableOfflineQueue: false, ...given });
  // Connection errors are what `status` and the fallback report; unhandled, ioredis prints them.
  client.on('error', () => {});
  return client;
}

/** A callback of the user's: what it throws is not the detectors' concern. */
function notify(fn: () => void): void {
  try {
    fn();
  } catch {
    // Ignored: a broken callback must not fail the batch.
  }
}

/**
 * An op as the script reads it: `[kind, a, b, time, id, value, flag, when]`, and for a surge
 * `factor, baseline_s, distinct` after them (distinct 0: none).
 */
function encode(op: StateOp): unknown[] {
  const r = op.rule;
  const flag = op.reset ? 1 : op.step === 'a' ? 2 : 0;
  const when = op.when ?? -1;
  const v = op.value ?? '';
  switch (r.kind) {
    case 'count':
    case 'consecutive':
    case 'distinct':
      return [KINDS[r.kind], r.threshold, r.window_s, op.time, op.id, v, flag, when];
    case 'sequence':
      return [KINDS.sequence, r.within_s, r.repeat ? 1 : 0, op.time, op.id, v, flag, when];
    case 'bucket':
      return [KINDS.bucket, r.capacity, r.leak_s, op.time, op.id, v, flag, when];
    case 'surge':
      return [
        KINDS.surge,
        r.threshold,
        r.window_s,
        op.time,
        op.id,
        v,
        flag,
        when,
        r.factor,
        r.baseline_s,
        r.distinct ?? 0,
      ];
  }
}

function decode(a: Answer): StateResult {
  if (a.i === undefined) return { fired: a.f, count: a.c };
  if (a.h !== undefined)
    return { fired: a.f, count: a.c, first: a.i, firstTime: a.t, threshold: a.h };
  return { fired: a.f, count: a.c, first: a.i, firstTime: a.t };
}
