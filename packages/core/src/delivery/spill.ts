import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile, open, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEvent } from '../types.js';

/**
 * An append-only overflow file for one sink: events that did not fit the queue are appended as
 * JSON lines and read back in order once the sink accepts again. The read position is kept in
 * `<file>.offset`, so a restarted process replays what its predecessor could not deliver; the
 * files are removed when everything was read back. One operation at a time, in call order.
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
    private readonly onLost: (events: number, error: unknown) => void,
  ) {}

  /** Opens an existing spill file left by an earlier process. True when it holds unread events. */
  recover(): boolean {
    mkdirSync(dirname(this.path), { recursive: true });
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
    if (this.offset >= this.size) return false;
    const unread = readFileSync(this.path).subarray(this.offset);
    for (let i = unread.indexOf(10); i !== -1; i = unread.indexOf(10, i + 1)) this.backlog++;
    return true;
  }

  /** Queues `line` (one JSON line with its newline) for appending; written on the next operation. */
  append(line: string): void {
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
      await appendFile(this.path, text);
      this.size += Buffer.byteLength(text);
    } catch (error) {
      this.backlog -= count;
      this.onLost(count, error);
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
      if (this.offset >= this.size) return { events, lines, commit: async () => {} };
      const handle = await open(this.path, 'r');
      let consumed: number;
      try {
        const chunk = Buffer.alloc(Math.min(this.size - this.offset, 4 * 1024 * 1024));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
        let start = 0;
        while (events.length < max) {
          const end = chunk.indexOf(10, start);
          if (end === -1 || end >= bytesRead) break;
          const text = chunk.toString('utf8', start, end);
          start = end + 1;
          if (text !== '') {
            events.push(JSON.parse(text) as AuditEvent);
            lines.push(text + '\n');
          }
        }
        consumed = start;
      } finally {
        await handle.close();
      }
      const next = this.offset + consumed;
      return {
        events,
        lines,
        commit: () =>
          this.enqueue(async () => {
            this.offset = next;
            this.backlog = Math.max(0, this.backlog - events.length);
            await writeFile(`${this.path}.offset`, String(next));
          }),
      };
    });
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

function ignoreMissing(p: Promise<void>): Promise<void> {
  return p.catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
