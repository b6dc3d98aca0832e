// credential_stuffing on the machine's Redis (127.0.0.1:6379, a prefix of this test's own,
// deleted afterwards): the same failures through a detectors() sink on redisState and on
// memoryState give the same detections, and Redis holds the service, accounts and IPs as keyed
// hashes only.
import { memoryState, type DetectorState } from '@authtrail/detect';
import { harness, only, signIns, T0 } from '../../detect/test/support.js';
import { redisState } from '../src/index.js';
import { REDIS_URL, testPrefix } from './helpers.js';

const KEY = 'stuffing-redis-fingerprint-key-3f9a1c7e5b2d';
const SERVICE = 'shop-login-redis';
const { hash } = signIns(KEY);
const S = 1000;

/** Failures as [time, account, ip]: a busy hour, a surge at 3x, a fast brute force, a second surge. */
function attack(): [number, string, string][] {
  const out: [number, string, string][] = [];
  for (let i = 0; i < 720; i++)
    out.push([T0 + i * 5 * S, `regular${i % 5}@example.com`, '198.51.100.9']);
  const at = T0 + 3870 * S;
  for (let i = 0; i < 200; i++)
    out.push([at + i * 100, `leak${i}@example.com`, `203.0.113.${i % 250}`]);
  for (let i = 0; i < 300; i++) out.push([at + 30 * S + i * 100, 'alice@example.com', '192.0.2.1']);
  const later = T0 + 7200 * S;
  for (let i = 0; i < 400; i++)
    out.push([later + i * 500, `combo${i % 180}@example.com`, `203.0.113.${i % 250}`]);
  return out;
}

/** The attack through an auditor on `state`; its detections with evidence ids as indexes. */
async function run(state: DetectorState) {
  const t = harness({
    service: SERVICE,
    key: KEY,
    detect: { state, ...only('credential_stuffing') },
  });
  const ids = attack().map(([time, account, ip]) => t.fail(time, account, ip).id);
  await t.auditor.close();
  return t.events
    .filter((e) => e.outcome === 'detected')
    .map(({ detection: d }) => ({
      ...d,
      first: ids.indexOf(d!.first),
      last: ids.indexOf(d!.last),
    }));
}

let t: ReturnType<typeof testPrefix>;
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await t.drop();
});

test('gives the detections memoryState gives, and Redis holds no service name, account or IP', async () => {
  const state = redisState({ redis: REDIS_URL, prefix: t.prefix, timeoutMs: 5000 });
  const onRedis = await run(state);
  expect(state.stats()).toMatchObject({ fallbacks: 0 });
  expect(onRedis).toEqual(await run(memoryState()));
  // The surge at 3x the busy hour fires at 180 of its 200; the brute force does not fire; the
  // later combo list (180 accounts, some tried twice) fires at 3x an hour that held 42 of the busy
  // hour's failures, the first surge and the brute force: 542 an hour, 136 in 5 minutes.
  expect(onRedis.map((d) => [d.count, d.threshold, d.first, d.last])).toEqual([
    [180, 180, 720, 899],
    [136, 136, 1220, 1355],
  ]);
  const keys = await t.keys();
  expect(keys.map((k) => k.slice(t.prefix.length))).toEqual([
    `credential_stuffing#0:${hash(SERVICE)}`,
  ]);
  const stored = [
    ...keys,
    ...(await Promise.all(keys.map((k) => t.redis.getBuffer(k)))).map((v) => v!.toString('latin1')),
  ].join('\n');
  for (const raw of [SERVICE, 'example.com', 'leak1', 'alice', '203.0.113', '192.0.2', '198.51'])
    expect(stored).not.toContain(raw);
  // Kept until its window and the hour before it have passed: 65 minutes.
  const ttl = await t.redis.pttl(keys[0]!);
  expect(ttl > 64 * 60 * S && ttl <= 65 * 60 * S).toBe(true);
});
