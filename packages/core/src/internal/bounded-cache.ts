/**
 * A cache per token string, bounded like {@link BoundedCache}. A Map keyed by the token itself
 * would hash the whole ~1 KB string on every request (each request brings a new string), so the
 * key is a hash of the token's last 32 characters (a JWT's signature: effectively random) and a
 * hit is confirmed by comparing the whole token. A different token with the same tail (a forgery
 * reusing a signature) is a miss and takes the slot: it can cost a recomputation, never a wrong hit.
 */
export class TokenCache<V> {
  private readonly map = new Map<number, { token: string; value: V }>();
  constructor(private readonly max: number) {}

  get(token: string): V | undefined {
    const entry = this.map.get(tailHash(token));
    return entry !== undefined && entry.token === token ? entry.value : undefined;
  }

  set(token: string, value: V): V {
    const key = tailHash(token);
    if (!this.map.has(key) && this.map.size >= this.max)
      this.map.delete(this.map.keys().next().value as number);
    this.map.set(key, { token, value });
    return value;
  }
}

function tailHash(s: string): number {
  let h = s.length;
  for (let i = Math.max(0, s.length - 32); i < s.length; i++)
    h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** A Map that forgets its oldest entry once it holds `max`: enough for hot tokens, bounded memory. */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): V {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as K);
    this.map.set(key, value);
    return value;
  }
}
