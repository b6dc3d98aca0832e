import type { AuditEvent, Batch } from '../types.js';

/** A batch whose JSON-lines encoding is computed once, by the first sink that asks for it. */
export function createBatch(events: readonly AuditEvent[]): Batch {
  let encoded: string | undefined;
  return {
    events,
    lines() {
      if (encoded === undefined) {
        let out = '';
        for (const event of events) out += JSON.stringify(event) + '\n';
        encoded = out;
      }
      return encoded;
    },
  };
}
