import type { AuditEvent } from '../types.js';

// Kept beside the events, not on them: events handed to sinks and tests stay plain data.
const lines = new WeakMap<AuditEvent, string>();

/**
 * The native JSON line of an event (with its newline), serialised once: queues size it, spill
 * files and sinks reuse it.
 */
export function lineOf(event: AuditEvent): string {
  let line = lines.get(event);
  if (line === undefined) lines.set(event, (line = JSON.stringify(event) + '\n'));
  return line;
}
