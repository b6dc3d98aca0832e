import { createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AuthtrailError } from '@authtrail/schema';
import { processAlive } from '../internal/pid-lock.js';

/**
 * Forward-secure sealing: the key that signs the chain moves on every epoch, one way
 * (`k(e+1) = HMAC-SHA-256(k(e), EVOLVE)`), and the old one is erased. The host only ever holds the
 * current epoch's key. The verification seed `s` (with the start and the epoch length) is printed
 * once at setup and kept elsewhere: `k(0) = HMAC-SHA-256(s, EVOLVE)`, so the seed itself is never
 * on the host, and `authtrail verify` derives every epoch's key from it.
 */
const EVOLVE = 'authtrail seal epoch';
const SEAL = 'authtrail epoch seal\n';
const STATE_TAG = 'authtrail-sealing-state';
const SEED_TAG = 'authtrail-seed-v1';

/** Epoch lengths accepted at setup: long enough that deriving years of keys stays cheap. */
export const MIN_EPOCH_MS = 1_000;
export const MAX_EPOCH_MS = 7 * 86_400_000;
export const DEFAULT_EPOCH_MS = 15 * 60_000;

/** What `authtrail verify` needs to check sealed events: kept off the host that writes the log. */
export interface SealingSeed {
  /** `chain.kid` of the events it seals. */
  readonly id: string;
  /** The seed secret (epoch 0's key is derived from it). */
  readonly key: Buffer;
  /** When epoch 0 began, Unix ms. */
  readonly start: number;
  readonly epochMs: number;
}

/** The next epoch's key. One way: the key of an earlier epoch cannot be had from a later one. */
export function evolveKey(key: Buffer): Buffer {
  return createHmac('sha256', key).update(EVOLVE).digest();
}

/**
 * The seal an epoch leaves in a chain as its key is erased: a MAC under that epoch's key over the
 * hash of the chain's last event, carried by the chain's next event (`chain.seal`). Only the
 * holder of the old key could make it, so the events before it cannot be sealed again later.
 */
export function epochSeal(key: Buffer, lastHash: string): string {
  return createHmac('sha256', key)
    .update(SEAL + lastHash)
    .digest('base64url');
}

/** Names a seal without revealing anything of its seed (48 bits of a keyed hash, base64url). */
function sealId(seedKey: Buffer): string {
  return `seal-${createHmac('sha256', seedKey).update('authtrail seal id').digest('base64url').slice(0, 8)}`;
}

/** The seed as one line of text: `authtrail-seed-v1:<id>:<start>:<epochMs>:<key, base64url>`. */
export function formatSeed(seed: SealingSeed): string {
  return [SEED_TAG, seed.id, seed.start, seed.epochMs, seed.key.toString('base64url')].join(':');
}

/** Reads a seed written by {@link formatSeed}; undefined for anything else (nothing of it echoed). */
export function parseSeed(text: string): SealingSeed | undefined {
  const parts = text.trim().split(':');
  if (parts.length !== 5 || parts[0] !== SEED_TAG) return undefined;
  const [, id, start, epochMs, key] = parts as [string, string, string, string, string];
  const seed = {
    id,
    start: Number(start),
    epochMs: Number(epochMs),
    key: Buffer.from(key, 'base64url'),
  };
  return validSeed(seed) ? seed : undefined;
}

function validSeed(s: SealingSeed): boolean {
  return (
    /^seal-[\w-]{8}$/.test(s.id) &&
    Number.isSafeInteger(s.start) &&
    s.start > 0 &&
    Number.isInteger(s.epochMs) &&
    s.epochMs >= MIN_EPOCH_MS &&
    s.epochMs <= MAX_EPOCH_MS &&
    s.key.length === 32
  );
}

/** The epoch a time falls in; 0 before the start. */
export function epochAt(seed: Pick<SealingSeed, 'start' | 'epochMs'>, timeMs: number): number {
  return Math.max(0, Math.floor((timeMs - seed.start) / seed.epochMs));
}

interface State extends SealingSeed {
  readonly epoch: number;
}

function stateText(s: State): string {
  const { id, start, epochMs, epoch } = s;
  const key = s.key.toString('base64url');
  return JSON.stringify({ authtrail: STATE_TAG, v: 1, id, start, epochMs, epoch, key }) + '\n';
}

/** Parses a state file's text; undefined when it is not one (never says what it holds). */
function parseState(text: string): State | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v?.authtrail !== STATE_TAG || v.v !== 1 || typeof v.key !== 'string') return undefined;
  const state = {
    id: v.id as string,
    start: v.start as number,
    epochMs: v.epochMs as number,
    epoch: v.epoch as number,
    key: Buffer.from(v.key, 'base64url'),
  };
  return typeof state.id === 'string' &&
    Number.isSafeInteger(state.epoch) &&
    state.epoch >= 0 &&
    validSeed(state)
    ? state
    : undefined;
}

/**
 * Writes `text` to `path` whole or not at all: a temporary file (0600, this process's own name, so
 * two writers never share one) is synced, then renamed over the old state.
 */
function replaceFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

/**
 * Temporary files of writers that died between writing and renaming (`<state>.<pid>.tmp`): each
 * holds a key of its epoch, which must not outlive the epoch on disk. A live writer's is its own.
 */
function removeLeftovers(path: string): void {
  const prefix = `${basename(path)}.`;
  try {
    for (const name of readdirSync(dirname(path))) {
      const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1])))
        unlinkSync(join(dirname(path), name));
    }
  } catch {
    // Best effort: the state itself is what the next write replaces.
  }
}

function sealingError(path: string, problem: string, fix: string): AuthtrailError {
  return new AuthtrailError(
    'ERR_AUTHTRAIL_SEALING_STATE',
    `authtrail: the sealing state ${JSON.stringify(path)} ${problem}; ${fix}`,
  );
}

const SETUP_FIX =
  'make one with `authtrail keys --setup <file>` and keep the seed it prints off this host ' +
  '(logs sealed before still verify with their own seed)';

/**
 * Creates a sealing state at `path` (mode 0600; never over an existing file) starting at `now`,
 * and returns the seed, for the caller to hand out once.
 */
export function setupSealing(path: string, epochMs: number, now = Date.now()): SealingSeed {
  const key = randomBytes(32);
  const seed: SealingSeed = { id: sealId(key), key, start: now, epochMs };
  if (!validSeed(seed))
    throw new RangeError(`the epoch must be ${MIN_EPOCH_MS} ms to ${MAX_EPOCH_MS} ms`);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, stateText({ ...seed, key: evolveKey(key), epoch: 0 }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return seed;
}

/**
 * The chain's signing key under sealing: read from the state file at startup, moved on to the
 * current epoch (at once after a late start, then at each boundary by a timer, so that an idle
 * process does not keep an old key), never back (a clock that goes backwards keeps the epoch
 * reached). Each move overwrites the state file and zeroes the old key in memory.
 */
export class SealingKey {
  readonly id: string;
  private key: Buffer;
  private epoch: number;
  private readonly seed: Pick<SealingSeed, 'start' | 'epochMs'>;
  /** The state on disk is behind the key in memory (its last write failed): retried each tick. */
  private behind = false;
  private timer: NodeJS.Timeout | undefined;
  /** Told each key (and its epoch) just before it is erased: the chain seals the epoch with it. */
  private beforeErase: ((key: Buffer, epoch: number) => void) | undefined;

  private constructor(
    private readonly path: string,
    state: State,
    private readonly now: () => number,
    private readonly failed: (error: unknown) => void,
  ) {
    this.id = state.id;
    this.key = state.key;
    this.epoch = state.epoch;
    this.seed = { start: state.start, epochMs: state.epochMs };
  }

  /**
   * Opens the state at `path` and moves it to the current epoch. Throws
   * `ERR_AUTHTRAIL_SEALING_STATE` when it is missing, not a sealing state, readable by others, or
   * cannot be rewritten; the message names the file and the fix, never a byte of the key.
   * @param failed told when a later write of the state fails (the key in memory still moves on)
   */
  static open(path: string, now: () => number, failed: (error: unknown) => void): SealingKey {
    let text: string;
    try {
      const mode = statSync(path).mode & 0o777;
      // Its key is all an intruder needs to seal from this epoch on: no one else may read it.
      if ((mode & 0o077) !== 0)
        throw sealingError(
          path,
          `is open to other users (mode ${mode.toString(8).padStart(4, '0')})`,
          `run \`chmod 600 ${path}\``,
        );
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof AuthtrailError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw sealingError(
        path,
        `cannot be read (${code})`,
        code === 'ENOENT' ? SETUP_FIX : 'check the path and its permissions',
      );
    }
    const state = parseState(text);
    if (!state)
      throw sealingError(path, 'is not a sealing state (corrupt or cut short)', SETUP_FIX);
    const sealing = new SealingKey(path, state, now, failed);
    removeLeftovers(path);
    try {
      // A write now, even without a move: a state that cannot be rewritten would keep old keys.
      sealing.moveTo(Math.max(state.epoch, sealing.epochNow()));
      replaceFile(path, sealing.text());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw sealingError(
        path,
        `cannot be rewritten (${code})`,
        'the process must be able to replace it: give it write access to the file and its directory',
      );
    }
    sealing.schedule();
    return sealing;
  }

  /** The key and epoch to sign with now (moved on first when a boundary has passed). */
  current(): { id: string; key: Buffer; epoch: number } {
    const epoch = this.epochNow();
    if (epoch > this.epoch) this.advance(epoch);
    return { id: this.id, key: this.key, epoch: this.epoch };
  }

  /** Sets what is told each key just before it is erased (one listener: the auditor's chain). */
  watch(beforeErase: (key: Buffer, epoch: number) => void): void {
    this.beforeErase = beforeErase;
  }

  /** Stops the timer (at close). The state on disk stays at the epoch reached. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private epochNow(): number {
    const t = this.now();
    return epochAt(this.seed, typeof t === 'number' && Number.isFinite(t) ? t : Date.now());
  }

  private moveTo(epoch: number): void {
    while (this.epoch < epoch) {
      const next = evolveKey(this.key);
      this.beforeErase?.(this.key, this.epoch);
      // Best effort in memory: the buffer is zeroed; V8 may still hold copies it made.
      this.key.fill(0);
      this.key = next;
      this.epoch++;
    }
  }

  private advance(epoch: number): void {
    this.moveTo(epoch);
    this.behind = true;
    this.save();
  }

  private save(): void {
    try {
      // Another process sharing the state may have moved it further already: never write it back.
      const onDisk = parseState(readFileSync(this.path, 'utf8'));
      if (!onDisk || onDisk.id !== this.id || onDisk.epoch < this.epoch)
        replaceFile(this.path, this.text());
      this.behind = false;
    } catch (error) {
      this.failed(error);
    }
  }

  private text(): string {
    return stateText({ id: this.id, key: this.key, epoch: this.epoch, ...this.seed });
  }

  /** Wakes at the next boundary (by the clock in use), so that the key moves on when idle too. */
  private schedule(): void {
    const next = this.seed.start + (this.epoch + 1) * this.seed.epochMs;
    const t = this.now();
    const wait = typeof t === 'number' && Number.isFinite(t) ? next - t : this.seed.epochMs;
    this.timer = setTimeout(
      () => {
        const epoch = this.epochNow();
        if (epoch > this.epoch) this.advance(epoch);
        else if (this.behind) this.save();
        this.schedule();
      },
      Math.min(Math.max(wait, 10), this.seed.epochMs),
    ).unref();
  }
}

/**
 * The verifier's side: every epoch's key, derived from a seed. Keeps one key every 1024 epochs and
 * the last one asked for, so memory stays small, events in order cost one HMAC per new epoch, and
 * going back to an epoch already passed costs at most 1024 HMACs.
 */
export class SeedKeys {
  private readonly marks: Buffer[];
  private last: { epoch: number; key: Buffer };
  /** The newest epoch an event may claim: one that has begun (a day of clock skew allowed). */
  readonly maxEpoch: number;

  constructor(readonly seed: SealingSeed) {
    const key0 = evolveKey(seed.key);
    this.marks = [key0];
    this.last = { epoch: 0, key: key0 };
    this.maxEpoch = epochAt(seed, Date.now() + 86_400_000);
  }

  /** The key of `epoch` (0 to {@link maxEpoch}). */
  keyAt(epoch: number): Buffer {
    if (epoch === this.last.epoch) return this.last.key;
    const mark = Math.min(Math.floor(epoch / 1024), this.marks.length - 1);
    let at =
      this.last.epoch <= epoch && this.last.epoch >= mark * 1024 ? this.last.epoch : mark * 1024;
    let key = at === this.last.epoch ? this.last.key : this.marks[mark]!;
    while (at < epoch) {
      key = evolveKey(key);
      at++;
      if (at % 1024 === 0 && this.marks.length === at / 1024) this.marks.push(key);
    }
    this.last = { epoch, key };
    return key;
  }
}
