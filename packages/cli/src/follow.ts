// Following a log that core's fileSink rotates (`path` -> `path.1` -> `path.2` ...), for
// `authtrail ingest --follow` and `authtrail tail -f --file`. A file is known by its identity
// (device and inode), not its name: the name moves on every rotation, the inode stays, so a file
// being read is finished after it was renamed, then each newer one in turn, then the live one.
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Line } from './lines.js';

/** Where reading got to in one file: enough to find the file again after a restart, and go on. */
export interface Position {
  /** The file's device and inode (decimal strings: an inode can pass 2^53). */
  dev: string;
  ino: string;
  /** Bytes read, up to the end of the last whole line. */
  offset: number;
  /** Lines read. */
  line: number;
  /**
   * SHA-256 (hex) of the file's first `headBytes` bytes: an inode is reused once its file is
   * deleted, and a new file under an old inode must not be taken for the old one.
   */
  head: string;
  headBytes: number;
}

/** Lines read from one file, and where reading is after them. `idle`: the live file's end was reached. */
export interface Chunk {
  file: string;
  lines: Line[];
  position: Position;
  idle: boolean;
}

export interface FollowOptions {
  /** A position saved earlier, the oldest file of the log present (rotated ones first), or the live file's start. */
  from: Position | 'oldest' | 'start';
  /** Wait for more at the live file's end (true), or stop there. */
  follow: boolean;
  /** Stops following: the generator ends at the next wait. */
  signal?: AbortSignal;
  /** How often the live file is checked at its end. @default 250 */
  pollMs?: number;
  /** Where to go on when the file being read can no longer be found (deleted after its rotation). */
  lost: 'oldest' | 'live';
  /** Tells what happened that the user should know (a lost file, a truncation). */
  notice: (text: string) => void;
}

// A file a rotation can leave at most this many names behind the live one (fileSink's maxFiles cap).
const MAX_ROTATED = 1000;
const HEAD_BYTES = 256;
// A "line" longer than this with no newline is not a line of a log: it is cut there and rejected.
const MAX_LINE = 8 * 1024 * 1024;

interface Open {
  handle: FileHandle;
  name: string;
  position: Position;
  /** Compressed by another tool (logrotate's compress): not readable line by line at an offset. */
  gzip: boolean;
}

interface Candidate {
  index: number;
  name: string;
  dev: string;
  ino: string;
}

const nameOf = (path: string, index: number) => (index === 0 ? path : `${path}.${index}`);

async function identity(name: string): Promise<{ dev: string; ino: string } | undefined> {
  const s = await stat(name, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return s && { dev: String(s.dev), ino: String(s.ino) };
}

/** The live file and its rotated files present now, newest first. */
async function scan(path: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  let misses = 0;
  // A rotation renames from the oldest down, so a name can be missing for a moment: one gap is allowed.
  for (let index = 0; index <= MAX_ROTATED && misses < 2; index++) {
    const name = nameOf(path, index);
    const id = await identity(name);
    if (id) out.push({ index, name, ...id });
    misses = id || index === 0 ? 0 : misses + 1;
  }
  return out;
}

async function headOf(handle: FileHandle, bytes: number): Promise<string> {
  const buffer = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
  return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex');
}

/** Opens `candidate` if it still is that file (a rotation may have moved the name meanwhile). */
async function openCandidate(candidate: Candidate): Promise<Open | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(candidate.name, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const s = await handle.stat({ bigint: true });
  if (String(s.dev) !== candidate.dev || String(s.ino) !== candidate.ino) {
    await handle.close();
    return undefined;
  }
  const position = {
    dev: candidate.dev,
    ino: candidate.ino,
    offset: 0,
    line: 0,
    head: '',
    headBytes: 0,
  };
  position.head = await headOf(handle, 0);
  const magic = Buffer.alloc(2);
  await handle.read(magic, 0, 2, 0);
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  return { handle, name: candidate.name, position, gzip };
}

/**
 * The lines of a rotated log, in order, across rotations: from `from` to the live file's end,
 * and then as they are written when `follow`. Each chunk's `position` is where a later run
 * resumes once the chunk's lines are safely handled.
 */
export async function* followLines(path: string, options: FollowOptions): AsyncGenerator<Chunk> {
  const pollMs = options.pollMs ?? 250;
  const stopped = () => options.signal?.aborted === true;
  const wait = () => sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);

  /** The file to read after `done` (rotated away or deleted), or undefined to stop. */
  async function next(
    done: Position | undefined,
    lost: 'oldest' | 'live' = options.lost,
  ): Promise<Open | undefined> {
    for (;;) {
      const candidates = await scan(path);
      const finished = done;
      const at =
        finished && candidates.find((c) => c.dev === finished.dev && c.ino === finished.ino);
      let pick: Candidate | undefined;
      if (at) {
        // The next newer file: the highest index below the finished one's (a rotation renames
        // from the oldest down, so a gap or two can be there for a moment).
        pick = candidates.filter((c) => c.index < at.index).at(-1);
      } else {
        if (done)
          options.notice(
            `the file being read was deleted before its end was reached (rotated out by maxFiles); ` +
              (lost === 'oldest'
                ? 'reading every rotated file again from the oldest (events already stored are skipped)'
                : 'going on with the live file'),
          );
        done = undefined;
        pick = lost === 'oldest' ? candidates.at(-1) : candidates[0];
        if (pick && pick.index !== 0 && lost === 'live') pick = undefined;
      }
      if (pick) {
        const opened = await openCandidate(pick);
        if (opened) return opened;
        continue;
      }
      // The newer file is not there yet: after a rotation, fileSink creates the new one on its next write.
      if (!options.follow || stopped()) return undefined;
      await wait();
      if (stopped()) return undefined;
    }
  }

  /** The file of a saved position, where it now is, if it is still that file. */
  async function resume(saved: Position): Promise<Open | undefined> {
    const candidate = (await scan(path)).find((c) => c.dev === saved.dev && c.ino === saved.ino);
    const opened = candidate && (await openCandidate(candidate));
    if (!opened) return undefined;
    const size = (await opened.handle.stat()).size;
    if (size >= saved.offset && (await headOf(opened.handle, saved.headBytes)) === saved.head) {
      opened.position = { ...saved };
      return opened;
    }
    await opened.handle.close();
    return undefined;
  }

  let current: Open | undefined;
  if (typeof options.from === 'object') {
    current = await resume(options.from);
    if (!current) {
      options.notice(
        'the file of the saved position is gone (rotated out, or replaced); reading every file of the log from the oldest (events already stored are skipped)',
      );
      current = await next(undefined);
    }
  } else if (options.from === 'oldest') {
    if (!options.follow && (await scan(path)).length === 0)
      throw Object.assign(new Error(`${path}: no such file`), { code: 'ENOENT' });
    current = await next(undefined, 'oldest');
  } else {
    const live = await identity(path);
    if (!live) {
      if (!options.follow)
        throw Object.assign(new Error(`${path}: no such file`), { code: 'ENOENT' });
      current = await next(undefined);
    } else current = await openCandidate({ index: 0, name: path, ...live });
  }

  const buffer = Buffer.alloc(256 * 1024);
  let pending = Buffer.alloc(0);
  let final = false;
  try {
    while (current) {
      const file = current;
      const pos = file.position;
      if (file.gzip) {
        options.notice(
          `${file.name} is compressed (by logrotate?): skipped; give it to authtrail import`,
        );
        await file.handle.close();
        current = await next({ ...pos });
        continue;
      }
      const { bytesRead } = await file.handle.read(
        buffer,
        0,
        buffer.length,
        pos.offset + pending.length,
      );
      if (bytesRead > 0) {
        const data =
          pending.length > 0
            ? Buffer.concat([pending, buffer.subarray(0, bytesRead)])
            : buffer.subarray(0, bytesRead);
        const lines: Line[] = [];
        let start = 0;
        for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
          lines.push({ text: data.toString('utf8', start, nl), line: ++pos.line, partial: false });
          start = nl + 1;
        }
        pos.offset += start;
        pending = Buffer.from(data.subarray(start));
        if (pending.length > MAX_LINE) {
          lines.push({ text: pending.toString('utf8'), line: ++pos.line, partial: true });
          pos.offset += pending.length;
          pending = Buffer.alloc(0);
        }
        if (pos.headBytes < HEAD_BYTES && pos.offset > pos.headBytes) {
          pos.headBytes = Math.min(pos.offset, HEAD_BYTES);
          pos.head = await headOf(file.handle, pos.headBytes);
        }
        if (lines.length > 0) yield { file: file.name, lines, position: { ...pos }, idle: false };
        continue;
      }
      if (!final) {
        const live = await identity(path);
        if (live && live.dev === pos.dev && live.ino === pos.ino) {
          const size = (await file.handle.stat()).size;
          if (size < pos.offset + pending.length) {
            options.notice(`${path} was truncated: reading it again from its start`);
            Object.assign(pos, {
              offset: 0,
              line: 0,
              head: await headOf(file.handle, 0),
              headBytes: 0,
            });
            pending = Buffer.alloc(0);
            continue;
          }
          yield { file: file.name, lines: [], position: { ...pos }, idle: true };
          if (!options.follow || stopped()) return;
          await wait();
          if (stopped()) return;
          continue;
        }
        // Rotated away (or deleted): what the writer appended before the rename may not have been
        // read yet. fileSink closes a file before renaming it, so one more read to its end is all.
        final = true;
        continue;
      }
      if (pending.length > 0) {
        // A last line with no newline in a finished file: a write cut short (a crash).
        const text = pending.toString('utf8');
        pos.offset += pending.length;
        pending = Buffer.alloc(0);
        yield {
          file: file.name,
          lines: [{ text, line: ++pos.line, partial: true }],
          position: { ...pos },
          idle: false,
        };
      }
      const done = { ...pos };
      await file.handle.close();
      current = undefined;
      final = false;
      current = await next(done);
    }
  } finally {
    await current?.handle.close();
  }
}
