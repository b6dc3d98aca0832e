import type { AuditEvent, Sink } from '../types.js';

/** A sink that keeps events in memory: for tests and for tools that inspect events in process. */
export interface MemorySink extends Sink {
  /** Every event delivered so far, in order. */
  readonly events: AuditEvent[];
  /** The exact JSON lines delivered so far (what a stdout or file sink would have written). */
  text(): string;
  clear(): void;
}

/** @example const sink = memorySink(); createAuditor({ sinks: [sink] }); ... sink.events */
export function memorySink(): MemorySink {
  const events: AuditEvent[] = [];
  let text = '';
  return {
    name: 'memory',
    events,
    write(batch) {
      for (const event of batch.events) events.push(event);
      text += batch.lines();
    },
    text: () => text,
    clear() {
      events.length = 0;
      text = '';
    },
  };
}
