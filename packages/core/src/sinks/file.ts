import { open, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EventTypes, type AuditEvent, type EventFormat } from '@authtrail/schema';
import { createBatch } from '../delivery/batch.js';
import { shapeOf } from '../errors.js';
import { checkOptions } from '../internal/option-check.js';
import type { Batch, Sink, SinkHost } from '../types.js';

/** Options of {@link fileSink}. */
export interface FileSinkOptions {
  /** How each line is written: `'native'`, `'ecs'` or `'ocsf'`. @default 'native' */
  format?: EventFormat;
  /**
   * When written lines are forced to disk: `'none'` (the OS decides; a crash of the machine can
   * lose the last seconds), `'batch'` (fdatasync after each batch) or `'every'` (after each line).
   * @default 'none'
   */
  fsync?: 'none' | 'batch' | 'every';
  /**
   * Rotate when the file reaches this size: `path` becomes `path.1`, `path.1` becomes `path.2` ...
   * A batch is never split across files by size, so a file may pass it by one batch.
   * @default no rotation
   */
  maxBytes?: number;
  /** Rotated files kept (`path.1` newest ... `path.<maxFiles>` oldest). @default 5 */
  maxFiles?: number;
}

const FSYNC = ['none', 'batch', 'every'] as const;

/**
 * JSON lines appended to a file. Each batch is appended whole, so lines are never split or
 * interleaved by authtrail. With `maxBytes` the file rotates; when the auditor keeps a hash chain
 * (`keys.chain`), the new file starts with an `audit.checkpoint.success` event
 * (`reason: 'rotation'`) that `authtrail verify` accepts as the start of what is left once older
 * files are gone, and the auditor keeps the head of its chain beside the log
 * (`.<name>.chain-<slot>.json`, with a `.lock`) so that its next run links to this one.
 * @example
 * createAuditor({ sinks: [fileSink('/var/log/app/audit.jsonl', { maxBytes: 100e6, fsync: 'batch' })] });
 */
export function fileSink(
  path: string,
  options: FileSinkOptions = {},
): Sink & { readonly path: string } {
  const check = checkOptions('fileSink', options, 'path');
  const format = check.format();
  const fsync = check.oneOf('fsync', check.o.fsync, FSYNC, 'none');
  const { maxBytes } = check.o;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 1024))
    check.issue('maxBytes', shapeOf(maxBytes), 'use a whole number of bytes, at least 1024');
  const maxFiles = check.int('maxFiles', check.o.maxFiles, 5, 1, 1000);
  check.done();

  let handle: Promise<FileHandle> | undefined;
  let size = 0;
  const hosts: SinkHost[] = [];
  /** A rotation waits for its checkpoint event, so that it can open the new file. */
  let awaitingCheckpoint = false;

  const file = () =>
    // 0600: an audit log names users and clients; only the service's own user reads it.
    (handle ??= open(path, 'a', 0o600).then(
      async (h) => {
        size = (await h.stat()).size;
        return h;
      },
      (err: unknown) => {
        handle = undefined; // the next write (a retry) opens it again
        throw err;
      },
    ));
  /** Appends `events` (the whole `batch` when given: its lines are encoded once for every sink). */
  const append = async (events: readonly AuditEvent[], batch?: Batch) => {
    if (events.length === 0) return;
    const h = await file();
    if (fsync === 'every') {
      for (const event of events) {
        await writeAll(h, createBatch([event]).lines(format));
        await h.datasync();
      }
      return;
    }
    await writeAll(h, (batch ?? createBatch(events)).lines(format));
    if (fsync === 'batch') await h.datasync();
  };
  // One write call per batch (FileHandle.appendFile costs twice the CPU per batch); the file is
  // opened for appending, so each write lands whole at the end. The string goes to the write as it is
  // (no Buffer made per batch); a short write, which a full disk can cause, goes on from a Buffer.
  const writeAll = async (h: FileHandle, text: string) => {
    const length = Buffer.byteLength(text);
    let at = (await h.write(text)).bytesWritten;
    if (at < length) {
      const bytes = Buffer.from(text);
      while (at < length) at += (await h.write(bytes, at, length - at)).bytesWritten;
    }
    size += length;
  };
  const rotate = async () => {
    const h = handle;
    handle = undefined;
    await (await h)?.close();
    for (let i = maxFiles - 1; i >= 1; i--)
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(missing);
    await rename(path, `${path}.1`).catch(missing);
    size = 0;
  };

  return {
    name: 'file',
    path,
    // Hidden, so that `audit.jsonl*` given to `authtrail verify` does not pick the state up.
    chainState: join(dirname(path), `.${basename(path)}.chain`),
    attach(host) {
      hosts.push(host);
    },
    async write(batch) {
      let events = batch.events;
      if (awaitingCheckpoint) {
        const at = events.findIndex(
          (e) => e.type === EventTypes.CHECKPOINT && e.reason === 'rotation',
        );
        if (at >= 0) {
          await append(events.slice(0, at));
          await rotate();
          awaitingCheckpoint = false;
          events = events.slice(at);
        }
      }
      await append(events, events === batch.events ? batch : undefined);
      for (const host of hosts) host.written(batch.events);
      if (maxBytes !== undefined && size >= maxBytes && !awaitingCheckpoint) {
        // With a hash chain the auditor sends a checkpoint to this sink; this file rotates when it
        // arrives. Without one, rotate now.
        const anchored = hosts.map((host) => host.checkpoint('rotation')).some(Boolean);
        if (anchored) awaitingCheckpoint = true;
        else await rotate();
      }
    },
    async flush() {
      // Appends resolve when the OS took the bytes (and, with fsync, when they are on disk).
    },
    async close() {
      const h = handle;
      handle = undefined;
      await (await h)?.close();
    },
  };
}

function missing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
