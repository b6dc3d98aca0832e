// The verifier's key derivation for sealed chains: whatever order epochs are asked in (several
// chains or runs interleaved in one file, files given in any order), each epoch gets its one key.
import { createHmac } from 'node:crypto';
import { SeedKeys, evolveKey, type SealingSeed } from '../../src/integrity/sealing.js';

const seed: SealingSeed = {
  id: 'seal-AAAAAAAA',
  key: Buffer.alloc(32, 7),
  start: Date.now() - 10_000 * 1000,
  epochMs: 1000,
};

test('each epoch key is the documented one-way chain from the seed, asked in any order', () => {
  // k(0) = HMAC(seed, label), k(e+1) = HMAC(k(e), label): written out here, not taken from src.
  const step = (k: Buffer) => createHmac('sha256', k).update('authtrail seal epoch').digest();
  const expected: Buffer[] = [step(seed.key)];
  for (let e = 1; e <= 3000; e++) expected.push(step(expected[e - 1]!));
  const keys = new SeedKeys(seed);
  for (const epoch of [0, 5, 3000, 1023, 1024, 2049, 7, 2048, 3000, 0, 1025]) {
    expect([epoch, keys.keyAt(epoch).equals(expected[epoch]!)]).toEqual([epoch, true]);
  }
  expect(evolveKey(expected[41]!).equals(expected[42]!)).toBe(true);
});

test('an epoch that has not begun (beyond a day of clock skew) is out of range', () => {
  const keys = new SeedKeys(seed);
  expect(keys.maxEpoch).toBeGreaterThanOrEqual(10_000 + 86_400 - 1);
  expect(keys.maxEpoch).toBeLessThanOrEqual(10_000 + 86_400 + 1);
});
