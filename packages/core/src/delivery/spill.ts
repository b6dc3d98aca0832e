import { closeSync, openSync, readSync, statSync, readFileSync, writeSync } from 'node:fs';
import { appendFile, open, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { AuditEvent } from '@authtrail/schema';
import { FILE_MODE } from './spill-slot.js';

/**
 * The largest record a spill file holds (4 MiB). Lines authtrail makes are far smaller (see the
 * bound of an event line in docs/events.md); a longer line is refused when spilled and quarantined
 * when read back, so replay never holds more than this in memory.
 */
export const RECORD_CAP = 4 * 1024 * 1024;
/** Bytes read at a time while skipping an over-long record. */
const SKIP_PIECE = 64 * 1024;

/** Where the records replay cannot read go (`<slot>.quarantine`, mode 0600), kept for an operator. */
export class Quarantine {
  /** Why the last append failed, until the next report. */
  private failure: unknown;

  constructor(
    readonly path: string,
    /** Hears how many records were moved here, once they are on disk. */
    private readonly onQuarantined: (records: number, path: string) => void,
    /** Hears of records that could not be written here either (disk full): they are gone. */
    private readonly onLost: (records: number, error: unknown) => void,
  ) {}

  /** Never rejects: replay goes on whether or not the copy could be kept. */
  async append(data: Uint8Array | string): Promise<void> {
    await appendFile(this.path, data, { mode: FILE_MODE }).catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  report(records: number): void {
    const failure = this.failure;
    this.failure = undefined;
    if (records === 0) return;
    if (failure === undefined) this.onQuarantined(records, this.path);
    else this.onLost(records, failure);
  }
}

/**
 * An append-only overflow file for one sink: events that did not fit the queue are appended as
 * JSON lines and read back in order once the sink accepts again. The read position is kept in
 * `<file>.offset`, so a restarted process replays what its predecessor could not deliver; the
 * files are removed when everything was read back. One operation at a time, in call order.
 *
 * Replay never stops on a record it cannot read (a torn line left by a crash, bytes that are not an
 * event, a line over {@link RECORD_CAP}): the record goes to the quarantine file and is counted,
 * and reading goes on behind it. Every read either returns events or moves the read position on.
 */
export class SpillFile {
  private tail: Promise<unknown> = Promise.resolve();
  private buffered = '';
  private bufferedCount = 0;
  private offset = 0;
  private size = 0;
  /** Events appended and not yet read back. */
  backlog = 0;

  /** `onLost` hears of events that could not be appended (disk full ...): they are gone. */
  constructor(
    readonly path: string,
    private readonly quarantine: Quarantine,
    private readonly onLost: (events: number, error: unknown) => void,
  ) {}

  /** Opens an existing spill file left by an earlier holder of its slot. True when it holds unread records. */
  recover(): boolean {
    try {
      this.size = statSync(this.path).size;
    } catch {
      return false;
    }
    try {
      this.offset = Number(readFileSync(`${this.path}.offset`, 'utf8')) || 0;
    } catch {
      this.offset = 0;
    }
    // A position past the end means the file was replaced: read it from the start.
    if (this.offset > this.size) this.offset = 0;
    if (this.offset === this.size) return false;
    const fd = openSync(this.path, 'r+');
    try {
      // A crash mid-append leaves a line without its newline: end it, so that what is appended
      // next starts a line of its own (the torn line is quarantined on replay).
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, this.size - 1);
      if (last[0] !== 10) {
        writeSync(fd, '\n', this.size);
        this.size++;
      }
      this.backlog = countLines(fd, this.offset, this.size);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Queues `line` (one JSON line with its newline) for appending; written on the next operation. */
  append(line: string): void {
    // Bound every record: one that could not be read back is not written (a line authtrail makes
    // is far below the cap; only a misconfigured limit gets here).
    if (line.length * 3 > RECORD_CAP && Buffer.byteLength(line) > RECORD_CAP) {
      this.onLost(1, new Error(`spill: an event line over ${RECORD_CAP} bytes was not spilled`));
      return;
    }
    this.buffered += line;
    this.bufferedCount++;
    this.backlog++;
    if (this.bufferedCount === 1) this.enqueue(() => this.writeBuffered()).catch(() => undefined);
  }

  private async writeBuffered(): Promise<void> {
    const text = this.buffered;
    const count = this.bufferedCount;
    this.buffered = '';
    this.bufferedCount = 0;
    if (text === '') return;
    try {
      await appendFile(this.path, text, { mode: FILE_MODE });
      this.size += Buffer.byteLength(text);
    } catch (error) {
      this.backlog -= count;
      this.onLost(count, error);
      // A partial append (disk full) must not leave a torn line for the next append to join.
      await truncate(this.path, this.size).catch(() => undefined);
    }
  }

  /** Reads up to `max` events from the read position. `commit()` moves past them once delivered. */
  read(
    max: number,
  ): Promise<{ events: AuditEvent[]; lines: string[]; commit: () => Promise<void> }> {
    return this.enqueue(async () => {
      await this.writeBuffered();
      const events: AuditEvent[] = [];
      const lines: string[] = [];
      let at = this.offset;
      let quarantined = 0;
      if (at < this.size) {
        let handle: FileHandle;
        try {
          handle = await open(this.path, 'r');
        } catch (error) {
          // Removed under us: what it held is gone; start afresh rather than fail forever.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          this.onLost(this.backlog, error);
          this.offset = this.size = this.backlog = 0;
          return { events, lines, commit: async () => {} };
        }
        try {
          // Until an event is found: records that are quarantined only move the position on.
          while (events.length === 0 && at < this.size) {
            const chunk = Buffer.allocUnsafe(Math.min(this.size - at, RECORD_CAP + 1));
            const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
            if (bytesRead === 0) {
              // Shorter than we knew (cut by someone else): nothing more to read.
              this.size = at;
              break;
            }
            let start = 0;
            while (events.length < max) {
              const end = chunk.indexOf(10, start);
              if (end === -1 || end >= bytesRead) break;
              if (end > start) {
                const text = chunk.toString('utf8', start, end);
                const event = parseEvent(text);
                if (event) {
                  events.push(event);
                  lines.push(text + '\n');
                } else {
                  await this.quarantine.append(chunk.subarray(start, end + 1));
                  quarantined++;
                }
              }
              start = end + 1;
            }
            if (start === 0) {
              // No line ends within the cap (or the file ends first): quarantined, then skipped.
              start = await this.skipRecord(handle, at, chunk.subarray(0, bytesRead));
              quarantined++;
            }
            at += start;
          }
        } finally {
          await handle.close();
        }
      }
      this.quarantine.report(quarantined);
      this.backlog = Math.max(0, this.backlog - quarantined);
      const next = at;
      // Only quarantined records read: nothing to deliver, the position moves on now.
      if (events.length === 0 && next !== this.offset) await this.moveTo(next);
      const commit = () =>
        this.enqueue(async () => {
          this.backlog = Math.max(0, this.backlog - events.length);
          await this.moveTo(next);
        });
      return { events, lines, commit };
    });
  }

  private async moveTo(next: number): Promise<void> {
    this.offset = next;
    // Written aside and renamed: a crash never leaves a half-written position.
    await writeFile(`${this.path}.offset.tmp`, String(next), { mode: FILE_MODE });
    await rename(`${this.path}.offset.tmp`, `${this.path}.offset`);
  }

  /**
   * Copies the record at `at` (whose first bytes are `head`, with no newline in them) to the
   * quarantine file piece by piece, up to its newline or the end of the file. Returns its length.
   */
  private async skipRecord(handle: FileHandle, at: number, head: Buffer): Promise<number> {
    await this.quarantine.append(head);
    let length = head.length;
    const piece = Buffer.allocUnsafe(SKIP_PIECE);
    while (at + length < this.size) {
      const { bytesRead } = await handle.read(piece, 0, piece.length, at + length);
      if (bytesRead === 0) break;
      const end = piece.indexOf(10);
      if (end !== -1 && end < bytesRead) {
        await this.quarantine.append(piece.subarray(0, end + 1));
        return length + end + 1;
      }
      await this.quarantine.append(piece.subarray(0, bytesRead));
      length += bytesRead;
    }
    // Torn at the end of the file: the quarantine file keeps one record a line.
    await this.quarantine.append('\n');
    return length;
  }

  /** True when everything appended was read back and committed: the files are then removed. */
  drained(): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.buffered !== '' || this.offset < this.size) return false;
      await Promise.all([unlink(this.path), unlink(`${this.path}.offset`)].map(ignoreMissing));
      this.offset = this.size = this.backlog = 0;
      return true;
    });
  }

  /** True when nothing is waiting to be appended or read back. */
  get empty(): boolean {
    return this.buffered === '' && this.offset >= this.size;
  }

  /** Resolves when every append so far is on disk. */
  settled(): Promise<void> {
    return this.enqueue(() => this.writeBuffered());
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** A spilled line back as an event: JSON of an object with the fields every event is made with. */
function parseEvent(text: string): AuditEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  const ok =
    typeof e.id === 'string' &&
    typeof e.time === 'string' &&
    typeof e.type === 'string' &&
    typeof e.outcome === 'string' &&
    e.observer !== null &&
    typeof e.observer === 'object';
  return ok ? (value as AuditEvent) : undefined;
}

/** Newlines between `from` and `to`, read 1 MiB at a time (a spill file can be large). */
function countLines(fd: number, from: number, to: number): number {
  const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, to - from));
  let lines = 0;
  for (let at = from; at < to;) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, to - at), at);
    if (n === 0) break;
    for (let i = buffer.indexOf(10); i !== -1 && i < n; i = buffer.indexOf(10, i + 1)) lines++;
    at += n;
  }
  return lines;
}

function ignoreMissing(p: Promise<void>): Promise<void> {
  return p.catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
