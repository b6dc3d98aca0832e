import { randomFillSync } from 'node:crypto';

// Random bytes come from a pool refilled 4 KiB at a time: one syscall per 409 ids.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

let lastMs = -1;
let counter = 0;

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 12 bits that count up within the same
 * millisecond (seeded at random each millisecond) so ids from one process sort in creation order,
 * then 62 random bits.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 10;
  if (now > lastMs) {
    lastMs = now;
    counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff; // leave headroom to count up
  } else {
    now = lastMs; // clock went back or same ms: stay monotonic
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      now = lastMs;
      counter = 0;
    }
  }
  const h = HEX;
  const ms = now;
  const hi = Math.floor(ms / 0x1000000); // top 24 bits
  const lo = ms % 0x1000000; // low 24 bits
  return (
    h[(hi >>> 16) & 0xff]! +
    h[(hi >>> 8) & 0xff]! +
    h[hi & 0xff]! +
    h[(lo >>> 16) & 0xff]! +
    '-' +
    h[(lo >>> 8) & 0xff]! +
    h[lo & 0xff]! +
    '-' +
    h[0x70 | (counter >>> 8)]! +
    h[counter & 0xff]! +
    '-' +
    h[0x80 | (pool[r + 2]! & 0x3f)]! +
    h[pool[r + 3]!]! +
    '-' +
    h[pool[r + 4]!]! +
    h[pool[r + 5]!]! +
    h[pool[r + 6]!]! +
    h[pool[r + 7]!]! +
    h[pool[r + 8]!]! +
    h[pool[r + 9]!]!
  );
}
