import type { AuditEvent, LineFormat } from '@authtrail/schema';
import { LINE_FORMATS, checkOptions } from '../internal/option-check.js';
import type { Sink } from '../types.js';

/** A sink that keeps events in memory: for tests and for tools that inspect events in process. */
export interface MemorySink extends Sink {
  /** Every event delivered so far, in order, as native events whatever the format. */
  readonly events: AuditEvent[];
  /** The exact JSON lines delivered so far, in the sink's format (what a stdout or file sink would have written). */
  text(): string;
  clear(): void;
}

/** Options of {@link memorySink}. */
export interface MemorySinkOptions {
  /** The format of `text()`: `'native'`, `'ecs'`, `'ocsf'` or `'pretty'` (never coloured). @default 'native' */
  format?: LineFormat;
}

/**
 * @example
 * const sink = memorySink({ format: 'ocsf' });
 * createAuditor({ sinks: [sink] });
 * // ... sink.events (native objects), sink.text() (OCSF lines)
 */
export function memorySink(options: MemorySinkOptions = {}): MemorySink {
  const check = checkOptions('memorySink', options, '');
  const format = check.oneOf('format', check.o.format, LINE_FORMATS, 'native');
  check.done();
  const events: AuditEvent[] = [];
  let text = '';
  return {
    name: 'memory',
    events,
    write(batch) {
      for (const event of batch.events) events.push(event);
      text += batch.lines(format);
    },
    text: () => text,
    clear() {
      events.length = 0;
      text = '';
    },
  };
}
