import { createHmac, randomUUID } from 'node:crypto';
import type { AuditEvent, ChainLink, ChainRun } from '@authtrail/schema';
import type { RunHead } from './chain-state.js';
import { epochSeal } from './sealing.js';
import type { ChainKey } from './key.js';

export { chainKeyId, type ChainKey } from './key.js';

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
 * `chain.hash` left out (so `seq` and every other `chain` field are covered), base64url. A chain
 * written before `kid`, `run` and `anchor` existed hashes the same bytes as before.
 */
export function chainHash(key: Buffer, event: Readonly<AuditEvent>): string {
  let link: Partial<ChainLink> | undefined;
  if (event.chain) {
    link = { ...event.chain };
    delete link.hash;
  }
  return createHmac('sha256', key)
    .update(canonicalJson({ ...event, chain: link }))
    .digest('base64url');
}

/**
 * What signs a chain: asked for the key at each event. A fixed key, or a sealing key whose key
 * moves on per epoch (then `epoch` is set and goes into `chain.epoch`).
 */
export interface ChainSigner {
  current(): { readonly id: string; readonly key: Buffer; readonly epoch?: number };
  /** Sealing only: `beforeErase` is told each epoch's key just before it is erased. */
  watch?(beforeErase: (key: Buffer, epoch: number) => void): void;
}

/**
 * One auditor's hash chain. `link` gives each event, in delivery order, the next `seq` (from 1),
 * the chain's id, the key's id and the previous event's hash (empty for the first), then its own
 * hash. The first event also carries `run`: which run of the log this is and the head of the run
 * before it, so that `authtrail verify` can tell a missing or replayed run.
 */
export class HashChain {
  readonly id: string;
  /** This run's lineage and number in it. */
  readonly place: { readonly lineage: string; readonly n: number };
  private seq = 0;
  private prev = '';
  /** What the first event carries; cleared once it is linked. */
  private run: ChainRun | undefined;
  /** Sealing: the seal of the epoch of the last linked event, made as its key was erased. */
  private seal: string | undefined;

  private readonly signer: ChainSigner;

  /**
   * @param key a fixed key, or a signer (sealing) asked at each event
   * @param previous the head of the run before this one, kept beside the log (see ChainState).
   */
  constructor(key: ChainKey | ChainSigner, previous?: RunHead) {
    this.signer = 'current' in key ? key : { current: () => key };
    // The first event after an epoch ends carries that epoch's seal: made now, while its key exists,
    // over the chain's last event (once, however many epochs pass before the next event).
    this.signer.watch?.((epochKey) => {
      if (this.seq > 0) this.seal ??= epochSeal(epochKey, this.prev);
    });
    this.id = randomUUID();
    this.place = previous
      ? { lineage: previous.lineage, n: previous.n + 1 }
      : { lineage: this.id, n: 1 };
    this.run = previous
      ? { ...this.place, after: { id: previous.id, seq: previous.seq, hash: previous.hash } }
      : { ...this.place };
  }

  /** The last linked event's seq and hash (0 and empty before the first). */
  get head(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.prev };
  }

  link(event: AuditEvent): void {
    const { id: kid, key, epoch } = this.signer.current();
    event.seq = ++this.seq;
    event.chain = {
      id: this.id,
      prev: this.prev,
      kid,
      epoch,
      seal: this.seal,
      run: this.run,
      hash: '',
    };
    this.run = undefined;
    this.seal = undefined;
    event.chain.hash = chainHash(key, event);
    this.prev = event.chain.hash;
  }

  /**
   * Stamps an event that is not part of the chain's sequence (a rotation checkpoint, which goes to
   * one sink only, or a head sent to `chainAnchor`): it names the current head (`seq` and
   * `chain.prev` of the last linked event) and the run, and is hashed like any other, but takes no
   * `seq`, so the other sinks see no gap.
   */
  anchor(event: AuditEvent, head: { seq: number; hash: string } = this.head): void {
    const { id: kid, key, epoch } = this.signer.current();
    event.seq = head.seq;
    event.chain = {
      id: this.id,
      prev: head.hash,
      kid,
      epoch,
      run: { ...this.place },
      anchor: true,
      hash: '',
    };
    event.chain.hash = chainHash(key, event);
  }
}
