import { createWriteStream, type WriteStream } from 'node:fs';
import { resolveFormat, type EventFormat } from '../formats/index.js';
import type { Sink } from '../types.js';

/** Options of {@link fileSink}. */
export interface FileSinkOptions {
  /** How each line is written: `'native'`, `'ecs'` or `'ocsf'`. @default 'native' */
  format?: EventFormat;
}

/**
 * JSON lines appended to a file. Each batch is one `write`, so lines are never split or
 * interleaved by authtrail. The file is opened on first write.
 * @example
 * createAuditor({ sinks: [fileSink('/var/log/app/audit.jsonl')] });
 * createAuditor({ sinks: [fileSink('/var/log/app/audit.ocsf.jsonl', { format: 'ocsf' })] });
 */
export function fileSink(
  path: string,
  options: FileSinkOptions = {},
): Sink & { readonly path: string } {
  const format = resolveFormat(options.format, 'fileSink(path, { format })');
  let stream: WriteStream | undefined;
  let failure: Error | undefined;
  const open = () => {
    if (!stream) {
      stream = createWriteStream(path, { flags: 'a' });
      // An open error surfaces on the next write; until then the error is held here.
      stream.on('error', (err) => (failure = err));
    }
    return stream;
  };
  return {
    name: 'file',
    path,
    write(batch) {
      const s = open();
      if (failure) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        s.write(batch.lines(format), (err) => (err ? reject(err) : resolve()));
      });
    },
    async flush() {
      // Writes resolve when the OS accepted them; nothing is held back in between.
    },
    close() {
      const s = stream;
      stream = undefined;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve) => s.end(resolve));
    },
  };
}
