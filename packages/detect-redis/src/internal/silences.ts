import { createHash } from 'node:crypto';
import {
  memoryState,
  type DetectorState,
  type Held,
  type Sighting,
  type Silences,
} from '@authtrail/detect';
import type { Redis } from 'ioredis';
import { timely } from './timely.js';

/** How long a silence is remembered after it began: as `memoryState` does (a day). */
const KEPT_MS = 86_400_000;
/** Silences claimed per slot and tick at most: the rest are claimed at the next tick. */
const LIMIT = 100;
/** Sightings kept while Redis is away, to be sent when it answers again. */
const MAX_UNSENT = 10_000;

/**
 * The `silence` rules on Redis, apart from the ops' script (its own small script, so neither grows
 * into the other). Per silence slot two keys: `<prefix><slot>:seen`, a hash of each watched key's
 * last sighting (`{ t, i, q, s }`: time, event id, quiet seconds, silent), and `<prefix><slot>:due`,
 * a sorted set of the same keys by when they fall silent (or, once silent, when they are
 * forgotten). Keys in both are keyed hashes, never an instance's name. One call does all of a
 * batch's sightings, or all of a tick: the sightings kept while Redis was away, which of `held` are
 * over, and the keys due now, each claimed (made silent) by exactly one caller, atomically.
 *
 * ARGV[1]: `{ now, kept, limit, beats: [[slot, key, time, id, quiet_s, reset]], held: [[slot, key]] }`
 * (slots are 1-based indexes into KEYS' pairs; `now` 0 claims nothing). Answers
 * `{ s: [[slot, key, id, time, quiet_s]], o: [[slot, key]] }`.
 */
export const SILENCE_SCRIPT = `
local a = cjson.decode(ARGV[1])
local function due(i) return KEYS[2 * i - 1] end
local function seen(i) return KEYS[2 * i] end
local function get(i, key)
  local raw = redis.call('HGET', seen(i), key)
  if raw then return cjson.decode(raw) end
  return nil
end
local function put(i, key, w) redis.call('HSET', seen(i), key, cjson.encode(w)) end
local function drop(i, key)
  redis.call('HDEL', seen(i), key)
  redis.call('ZREM', due(i), key)
end
for _, b in ipairs(a.beats) do
  local i, key, t = b[1], b[2], b[3]
  local w = get(i, key)
  -- A late sighting never moves a key back.
  if not (w and w.t > t) then
    if b[6] == 1 then
      drop(i, key)
    else
      put(i, key, { t = t, i = b[4], q = b[5], s = 0 })
      redis.call('ZADD', due(i), t + b[5] * 1000, key)
      local ttl = math.ceil(b[5] * 1000 + a.kept)
      for _, k in ipairs({ due(i), seen(i) }) do
        if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
      end
    end
  end
end
local over = {}
for _, h in ipairs(a.held) do
  local w = get(h[1], h[2])
  if not w or w.s ~= 1 then table.insert(over, h) end
end
local silent = {}
if a.now > 0 then
  for i = 1, #KEYS / 2 do
    for _, key in ipairs(redis.call('ZRANGEBYSCORE', due(i), '-inf', a.now, 'LIMIT', 0, a.limit)) do
      local w = get(i, key)
      if not w or w.s == 1 then
        -- Silent for as long as it is remembered: forgotten.
        drop(i, key)
      else
        w.s = 1
        put(i, key, w)
        redis.call('ZADD', due(i), w.t + w.q * 1000 + a.kept, key)
        table.insert(silent, { i, key, w.i, w.t, w.q })
      end
    end
  end
end
return cjson.encode({ s = silent, o = over })
`;
const SHA = createHash('sha1').update(SILENCE_SCRIPT).digest('hex');

/** What redisState lends the silences: its client, and how it waits, fails over and recovers. */
export interface SilenceLink {
  readonly client: Redis;
  readonly prefix: string;
  readonly timeoutMs: number;
  /** Resolves once the client is ready (or rejects when `signal` aborts). */
  connected(signal: AbortSignal): Promise<void>;
  /** Whether a call may be tried now (connected, or connecting). */
  reachable(): boolean;
  /** A call failed or was late: counted as a fallback, reported once per outage. */
  failed(why: string): void;
  /** A call was answered: the outage, if any, is over. */
  answered(): void;
}

/** `watch` and `silent` of a {@link DetectorState} on Redis, falling back to memory. */
export function redisSilences(
  link: SilenceLink,
): Required<Pick<DetectorState, 'watch' | 'silent'>> {
  const { client, prefix, timeoutMs } = link;
  // Sightings Redis has not taken (it was away): the latest per key, sent with the next call, so
  // an instance that kept beating through an outage is not found silent when Redis is back.
  const unsent = new Map<string, Sighting>();
  // While Redis is away, silences are found in this process, among the sightings it saw itself.
  let local = memoryState();
  let localUsed = false;

  async function call(slots: readonly string[], args: object): Promise<string> {
    const keys = slots.flatMap((slot) => [`${prefix}${slot}:due`, `${prefix}${slot}:seen`]);
    const json = JSON.stringify(args);
    try {
      return (await client.evalsha(SHA, keys.length, ...keys, json)) as string;
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return (await client.eval(SILENCE_SCRIPT, keys.length, ...keys, json)) as string;
    }
  }

  /** One call within `timeoutMs`, or undefined (and the fallback counted) when Redis fails. */
  async function timed(
    slots: readonly string[],
    sightings: readonly Sighting[],
    now: number,
    held: readonly Held[],
  ): Promise<Silences | undefined> {
    if (!link.reachable()) {
      link.failed(`is not connected (${client.status})`);
      return undefined;
    }
    const all = [...new Set([...slots, ...sightings.map((s) => s.slot)])];
    const index = new Map(all.map((slot, i) => [slot, i + 1]));
    const args = {
      now,
      kept: KEPT_MS,
      limit: LIMIT,
      beats: sightings.map((s) => [
        index.get(s.slot),
        s.key,
        s.time,
        s.id,
        s.quiet_s,
        s.reset ? 1 : 0,
      ]),
      // A held silence of a slot not asked about is not over: asked again at the next tick.
      held: held.filter((h) => index.has(h.slot)).map((h) => [index.get(h.slot), h.key]),
    };
    const got = await timely(link.connected, () => call(all, args), timeoutMs);
    if (!('raw' in got)) {
      link.failed(got.problem);
      return undefined;
    }
    link.answered();
    const answer = JSON.parse(got.raw) as { s: unknown; o: unknown };
    // cjson writes an empty table as `{}`.
    const list = (x: unknown) => (Array.isArray(x) ? (x as unknown[][]) : []);
    return {
      silent: list(answer.s).map(([i, key, id, time, quiet_s]) => ({
        slot: all[(i as number) - 1]!,
        key: key as string,
        id: id as string,
        time: time as number,
        quiet_s: quiet_s as number,
      })),
      over: list(answer.o).map(([i, key]) => ({
        slot: all[(i as number) - 1]!,
        key: key as string,
      })),
    };
  }

  /** Sends `sightings` with the ones kept from an outage; keeps them again if Redis fails. */
  async function send(
    slots: readonly string[],
    sightings: readonly Sighting[],
    now: number,
    held: readonly Held[],
  ): Promise<Silences | undefined> {
    for (const s of sightings) {
      const id = `${s.slot}\u0000${s.key}`;
      unsent.delete(id);
      if (unsent.size < MAX_UNSENT) unsent.set(id, s);
    }
    const batch = [...unsent.values()];
    const answer = await timed(slots, batch, now, held);
    if (answer) {
      unsent.clear();
      // What it found alone is stale once Redis holds every instance's sightings again.
      if (localUsed) {
        local = memoryState();
        localUsed = false;
      }
    } else {
      localUsed = true;
      // memoryState's watch is synchronous.
      void local.watch!(sightings);
    }
    return answer;
  }

  return {
    async watch(sightings) {
      await send([], sightings, 0, []);
    },
    async silent(slots, now, held) {
      const answer = await send(slots, [], now, held);
      if (answer) return answer;
      // Alone, this process cannot tell whether a silence another one reported is over: asked
      // again once Redis answers.
      const found = await local.silent!(slots, now, []);
      return { silent: found.silent, over: [] };
    },
  };
}
