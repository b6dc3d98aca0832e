import { formatEvent, prettyLine, type AuditEvent, type LineFormat } from '@authtrail/schema';
import type { Batch } from '../types.js';
import { serialize } from './line.js';

/**
 * A batch whose JSON-lines encoding is computed once per format, by the first sink that asks for
 * it: three sinks writing ECS share one serialisation. `native` holds the events' native lines
 * when the queue already made them.
 */
export function createBatch(events: readonly AuditEvent[], native?: readonly string[]): Batch {
  const encoded: Partial<Record<LineFormat, string>> = {};
  return {
    events,
    lines(format = 'native') {
      let out = encoded[format];
      if (out === undefined) {
        out = '';
        // Native lines were serialised once when the event was queued (they sized the queue).
        if (format === 'native') out = native ? native.join('') : events.map(serialize).join('');
        else if (format === 'pretty') for (const event of events) out += prettyLine(event) + '\n';
        else for (const event of events) out += JSON.stringify(formatEvent(event, format)) + '\n';
        encoded[format] = out;
      }
      return out;
    },
  };
}
