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
      if (stream.write(batch.lines(format))) return;
      return new Promise<void>((resolve) => stream.once('drain', resolve));
    },
  };
}
