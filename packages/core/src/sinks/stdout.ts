import { resolveFormat, type EventFormat } from '../formats/index.js';
import type { Sink } from '../types.js';

/** Options of {@link stdoutSink}. */
export interface StreamSinkOptions {
  /** The stream to write to. @default process.stdout */
  stream?: NodeJS.WritableStream;
  /** How each line is written: `'native'`, `'ecs'` or `'ocsf'`. @default 'native' */
  format?: EventFormat;
}

/**
 * JSON lines on standard output (the default sink). One `write` per batch; when the stream's
 * buffer is full the sink waits for `drain`, so the delivery queue (bounded) absorbs the backlog.
 *
 * When stdout is a pipe (a log shipper), Node writes to it asynchronously on Linux and macOS: a
 * reader that stops reading never blocks the event loop, it only holds this sink's write. The
 * queue then applies its overflow policy, and `close()` gives up on the write at its deadline
 * (see the README's delivery contract). To a file or a terminal Node writes synchronously.
 * @example
 * createAuditor({ sinks: [stdoutSink()] });
 * createAuditor({ sinks: [stdoutSink({ format: 'ecs' })] }); // for Filebeat / Elastic Agent
 */
export function stdoutSink(options: StreamSinkOptions = {}): Sink {
  const stream = options.stream ?? process.stdout;
  const format = resolveFormat(options.format, 'stdoutSink({ format })');
  return {
    name: 'stdout',
    write(batch) {
      // A stream that closed (its reader went away) never drains: fail at once, so retries end.
      if ((stream as { destroyed?: boolean }).destroyed)
        throw new Error('stdout: the stream is closed');
      if (stream.write(batch.lines(format))) return;
      return settled(stream, 'drain');
    },
    async flush() {
      // An empty write's callback runs once everything written before it left the buffer.
      if ((stream as { writableLength?: number }).writableLength) await settled(stream, undefined);
    },
  };
}

/**
 * Resolves on `event` (or, without one, when an empty write went through); rejects when the
 * stream fails or closes first (a reader that went away: EPIPE), so the queue sees a failed write.
 */
function settled(stream: NodeJS.WritableStream, event: 'drain' | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: unknown) => {
      stream.off('drain', ok);
      stream.off('error', fail);
      stream.off('close', closed);
      if (error) reject(error);
      else resolve();
    };
    const ok = () => done();
    const fail = (error: unknown) => done(error ?? new Error('stdout: write failed'));
    const closed = () => done(new Error('stdout: the stream closed'));
    stream.once('error', fail);
    stream.once('close', closed);
    if (event) stream.once(event, ok);
    else stream.write('', (error) => done(error ?? undefined));
  });
}
