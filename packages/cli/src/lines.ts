// Reading a log file line by line, for every command that reads files (verify, import, tail):
// plain or gzip-compressed (a rotated log that logrotate compressed), streamed, never whole in memory.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** One line of a file: its text (without the newline), its 1-based number, and whether it lacked a newline (the file's end). */
export interface Line {
  readonly text: string;
  readonly line: number;
  readonly partial: boolean;
}

/** How far a read has gone in the file on disk (compressed bytes for a gzip file): for a progress bar. */
export interface ReadProgress {
  bytes: number;
}

/** Whether `path` starts with gzip's magic bytes (the name does not matter: `audit.jsonl.3.gz`, or not). */
async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The lines of `path`, a chunk of lines at a time (a line per iteration costs more than parsing it).
 * A gzip file is decompressed as it is read; `progress.bytes` counts the bytes read from disk.
 */
export async function* readLines(path: string, progress?: ReadProgress): AsyncGenerator<Line[]> {
  const gzip = await isGzip(path);
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const text: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  // A read error of the file reaches the loop below through the gunzip stream too.
  if (gzip) raw.on('error', (error) => text.destroy(error));
  text.setEncoding('utf8');
  let counted = 0;
  let rest = '';
  let line = 0;
  try {
    for await (const chunk of text) {
      const parts = (rest + (chunk as string)).split('\n');
      rest = parts.pop()!;
      if (progress) {
        progress.bytes += raw.bytesRead - counted;
        counted = raw.bytesRead;
      }
      yield parts.map((t) => ({ text: t, line: ++line, partial: false }));
    }
  } finally {
    // A reader that stops early (tail keeps the last lines only when it has them) closes the file.
    raw.destroy();
  }
  if (rest !== '') yield [{ text: rest, line: line + 1, partial: true }];
}

/** Feeds every line of `path` to `onLine` in order; the last line is `partial` without a newline. */
export async function eachLine(
  path: string,
  onLine: (text: string, line: number, partial: boolean) => void,
): Promise<void> {
  for await (const lines of readLines(path))
    for (const { text, line, partial } of lines) onLine(text, line, partial);
}
