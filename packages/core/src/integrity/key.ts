import { createHmac } from 'node:crypto';

// A chain key and its id, apart from the chain: the options read them, and need none of the chain,
// its state file or its sealing.

/**
 * The id of a chain key that was given without one: a keyed hash of a constant, so it names the key
 * without revealing anything of it (48 bits, base64url).
 */
export function chainKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('authtrail chain key id').digest('base64url').slice(0, 8);
}

/** A chain key and its id (`chain.kid` of the events it signs). */
export interface ChainKey {
  readonly id: string;
  readonly key: Buffer;
}
