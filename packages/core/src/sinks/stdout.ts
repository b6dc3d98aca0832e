import { prettyLine, type LineFormat } from '@authtrail/schema';
import { LINE_FORMATS, checkOptions } from '../internal/option-check.js';
import type { Batch, Sink } from '../types.js';

/** Options of {@link stdoutSink}. */
export interface StreamSinkOptions {
  /** The stream to write to. @default process.stdout */
  stream?: NodeJS.WritableStream;
  /**
   * How each line is written: `'native'`, `'ecs'` or `'ocsf'` (JSON), or `'pretty'` (one readable
   * line per event, for development; coloured only when the stream is a TTY and `NO_COLOR` is
   * unset). @default 'native'
   */
  format?: LineFormat;
}

/**
 * JSON lines on standard output (the default sink). One `write` per batch; when the stream's
 * buffer is full the sink waits for `drain`, so the delivery queue (bounded) absorbs the backlog.
 *
 * When stdout is a pipe (a log shipper), Node writes to it asynchronously on Linux and macOS: a
 * reader that stops reading never blocks the event loop, it only holds this sink's write. The
 * queue then applies its overflow policy, and `close()` gives up on the write at its deadline
 * (see the delivery contract in docs/delivery.md). To a file or a terminal Node writes
 * synchronously.
 * @example
 * createAuditor({ sinks: [stdoutSink()] });
 * createAuditor({ sinks: [stdoutSink({ format: 'ecs' })] }); // for Filebeat / Elastic Agent
 * createAuditor({ sinks: [stdoutSink({ format: 'pretty' })] }); // on a developer's terminal
 */
export function stdoutSink(options: StreamSinkOptions = {}): Sink {
  const check = checkOptions('stdoutSink', options, '');
  const stream = check.o.stream ?? process.stdout;
  const format = check.oneOf('format', check.o.format, LINE_FORMATS, 'native');
  check.done();
  // Decided once: a terminal gets colours, a pipe or a file plain text (batch.lines('pretty')).
  const color = format === 'pretty' && wantsColor(stream);
  const text = (batch: Batch) =>
    color
      ? batch.events.map((event) => prettyLine(event, { color }) + '\n').join('')
      : batch.lines(format);
  return {
    name: 'stdout',
    write(batch) {
      // A stream that closed (its reader went away) never drains: fail at once, so retries end.
      if ((stream as { destroyed?: boolean }).destroyed)
        throw new Error('stdout: the stream is closed');
      if (stream.write(text(batch))) return;
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

/**
 * Whether a pretty sink colours its lines: only on a terminal, and never when `NO_COLOR` is set to
 * a non-empty value (https://no-color.org).
 */
function wantsColor(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR;
}
