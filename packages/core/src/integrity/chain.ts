import { createHmac, randomUUID } from 'node:crypto';
import type { AuditEvent } from '../types.js';

/**
 * JSON with the keys of every object sorted and undefined values left out: the exact bytes a chain
 * hash covers. Independent of key order, so a verifier that parsed a line gets the same bytes back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += value[i] === undefined ? 'null' : canonicalJson(value[i]);
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    if (v === undefined || typeof v === 'function') continue;
    if (out.length > 1) out += ',';
    out += JSON.stringify(key) + ':' + canonicalJson(v);
  }
  return out + '}';
}

/**
 * The hash of a chained event: HMAC-SHA-256 under the chain key over the canonical event with
 * `chain.hash` left out (so `seq`, `chain.id` and `chain.prev` are covered), base64url.
 */
export function chainHash(key: Buffer, event: Readonly<AuditEvent>): string {
  const link = event.chain && { id: event.chain.id, prev: event.chain.prev };
  return createHmac('sha256', key)
    .update(canonicalJson({ ...event, chain: link }))
    .digest('base64url');
}

/**
 * One auditor's hash chain. `link` gives each event, in delivery order, the next `seq` (from 1),
 * the chain's id and the previous event's hash (empty for the first), then its own hash.
 */
export class HashChain {
  readonly id: string;
  private seq = 0;
  private prev = '';

  constructor(private readonly key: Buffer) {
    this.id = randomUUID();
  }

  link(event: AuditEvent): void {
    event.seq = ++this.seq;
    event.chain = { id: this.id, prev: this.prev, hash: '' };
    const hash = chainHash(this.key, event);
    event.chain.hash = hash;
    this.prev = hash;
  }
}
