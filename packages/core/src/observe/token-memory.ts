import { BoundedCache } from '../internal/bounded-cache.js';

/**
 * What the provider's events remember of refresh tokens: the keyed fingerprints of those the
 * provider rotated or revoked, so that one presented again is reuse (`oauth.token_reuse.detected`)
 * even after the provider forgot the token. The default remembers per process: instances behind a
 * load balancer each know only their own rotations, and a replay that lands on another instance is
 * a plain `invalid_grant`. A memory the instances share (Redis, issue 17) closes that gap; either
 * method may then answer a promise: the events wait for it, never the response.
 */
export interface TokenMemory {
  /** Remembers a rotated or revoked refresh token by its fingerprint. */
  retire(fingerprint: string): void | Promise<void>;
  /** Whether a fingerprint was retired. */
  isRetired(fingerprint: string): boolean | Promise<boolean>;
}

/**
 * The default memory: the last `size` fingerprints retired in this process, oldest forgotten first
 * (10,000 fingerprints of 43 characters: about 1.5 MB at most).
 */
export function processTokenMemory(size = 10_000): TokenMemory {
  const retired = new BoundedCache<string, true>(size);
  return {
    retire(fingerprint) {
      retired.set(fingerprint, true);
    },
    isRetired: (fingerprint) => retired.get(fingerprint) === true,
  };
}
