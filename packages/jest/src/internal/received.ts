import type { AuditEvent } from '@authtrail/core';

/** What the matchers read: the events, and every byte written (for the secret scan). */
export interface Captured {
  events: readonly AuditEvent[];
  texts: string[];
}

interface EventSource {
  events: readonly AuditEvent[];
  text?: () => string;
  flush?: () => Promise<void>;
}

const isEventSource = (v: unknown): v is EventSource =>
  v !== null && typeof v === 'object' && Array.isArray((v as EventSource).events);

const isEvent = (v: unknown): v is AuditEvent =>
  v !== null && typeof v === 'object' && typeof (v as AuditEvent).type === 'string';

/** What `expect(received)` may be, for the messages. */
export const ACCEPTED =
  'a test auditor (createTestAuditor()), a memory sink or an array of audit events';

/**
 * Reads a test auditor, a memory sink (anything with `events` and perhaps `text()` / `flush()`) or
 * an array of events, after flushing what can be flushed. With `text`, strings and buffers are
 * accepted too (for the secret scan). Undefined when the value is none of these.
 */
export async function capture(received: unknown, text = false): Promise<Captured | undefined> {
  if (isEventSource(received)) {
    if (typeof received.flush === 'function') await received.flush();
    else await new Promise((resolve) => setImmediate(resolve));
    return {
      events: received.events,
      texts: typeof received.text === 'function' ? [received.text()] : [],
    };
  }
  if (text && typeof received === 'string') return { events: [], texts: [received] };
  if (text && Buffer.isBuffer(received)) return { events: [], texts: [received.toString('utf8')] };
  if (Array.isArray(received)) {
    const events = received.filter(isEvent);
    const texts = text ? received.filter((r): r is string => typeof r === 'string') : [];
    if (events.length + texts.length === received.length) return { events, texts };
  }
  return undefined;
}
