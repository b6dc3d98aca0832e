import type { Sink } from '../types.js';

/** Options of {@link stdoutSink}. */
export interface StreamSinkOptions {
  /** The stream to write to. @default process.stdout */
  stream?: NodeJS.WritableStream;
}

/**
 * JSON lines on standard output (the default sink). One `write` per batch; when the stream's
 * buffer is full the sink waits for `drain`, so the delivery queue (bounded) absorbs the backlog.
 * @example createAuditor({ sinks: [stdoutSink()] })
 */
export function stdoutSink(options: StreamSinkOptions = {}): Sink {
  const stream = options.stream ?? process.stdout;
  return {
    name: 'stdout',
    write(batch) {
      if (stream.write(batch.lines())) return;
      return new Promise<void>((resolve) => stream.once('drain', resolve));
    },
  };
}
