import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { tryLock } from '../internal/pid-lock.js';

/** The head of a run as kept beside the log: what the next run of the lineage links to. */
export interface RunHead {
  lineage: string;
  n: number;
  id: string;
  seq: number;
  hash: string;
}

/** Shortest time between two writes of a slot's state. */
const SAVE_EVERY_MS = 100;

function isHead(v: unknown): v is RunHead {
  const h = v as RunHead;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.lineage === 'string' &&
    Number.isInteger(h.n) &&
    h.n >= 1 &&
    typeof h.id === 'string' &&
    Number.isInteger(h.seq) &&
    typeof h.hash === 'string'
  );
}

/**
 * One lineage's state beside a log: `<prefix>-<slot>.json` holds the head of its last run, and
 * `<prefix>-<slot>.lock` (the owner's pid) keeps two live writers (processes of one service, or
 * auditors of one process) out of one slot. Each writer takes the lowest free slot, so a restarted
 * process continues the lineage its predecessor left, and the next run links to it.
 */
export class ChainState {
  /** The head of the run before this one in the slot, if the slot was used before. */
  readonly previous: RunHead | undefined;
  /** The state could not be read: a new lineage starts (see the warning). */
  readonly unreadable: boolean;
  private readonly path: string;
  private next: RunHead | undefined;
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the last write ended. */
  private written = 0;

  private constructor(
    prefix: string,
    slot: number,
    /** Gives the slot up (at close, after `settle`). */
    readonly release: () => void,
  ) {
    this.path = `${prefix}-${slot}.json`;
    let previous: RunHead | undefined;
    let unreadable = false;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      if (isHead(parsed)) previous = parsed;
      else unreadable = true;
    } catch (err) {
      unreadable = (err as NodeJS.ErrnoException).code !== 'ENOENT';
    }
    this.previous = previous;
    this.unreadable = unreadable;
  }

  /**
   * Takes the lowest free slot under `prefix` (synchronously: it runs once, when the auditor is
   * made). Throws when the directory cannot be written, like the log itself would.
   */
  static claim(place: string): ChainState {
    // One spelling per file, so that this process knows its own locks however the path was given.
    const prefix = resolve(place);
    // Bounded, so that a directory full of live locks ends in an error, not a loop.
    for (let slot = 0; slot < 4096; slot++) {
      const release = tryLock(`${prefix}-${slot}.lock`);
      if (release) return new ChainState(prefix, slot, release);
    }
    throw new Error(`no free chain state slot beside ${prefix}`);
  }

  /**
   * Keeps `head` as the lineage's newest; written within {@link SAVE_EVERY_MS} (writes never
   * overlap, the last one wins). Under load that is a few small writes a second, not one a batch; a
   * crash in between only makes the next run's link name an event a little earlier, which verifies.
   */
  save(head: RunHead): void {
    this.next = head;
    if (this.saving || this.timer) return;
    const wait = this.written + SAVE_EVERY_MS - Date.now();
    if (wait <= 0) this.saving = this.flush();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.saving ??= this.flush();
      }, wait).unref();
  }

  /** Resolves when the last head given to `save` is on disk (at close: at once). */
  async settle(): Promise<void> {
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.saving ??= this.flush();
      }
      if (!this.saving) return;
      await this.saving;
    }
  }

  private async flush(): Promise<void> {
    try {
      const head = this.next;
      this.next = undefined;
      // Written whole to a temporary file, then renamed: a crash leaves the old state or the new.
      if (head) {
        await writeFile(`${this.path}.tmp`, JSON.stringify(head) + '\n', { mode: 0o600 });
        await rename(`${this.path}.tmp`, this.path);
      }
    } catch {
      // The log is what matters; a stale head only makes the next run's link name an earlier event.
    } finally {
      this.saving = undefined;
      this.written = Date.now();
      if (this.next) this.save(this.next); // came in during the last write
    }
  }
}
