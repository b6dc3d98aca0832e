import type { AuditEvent, Sink } from '../types.js';

/**
 * Calls `fn` once per event, in order. If `fn` returns a promise the queue waits for it; a throw or
 * rejection counts as a failed write (see `stats().failed`) and never reaches the request.
 * @example callbackSink((event) => metrics.increment(event.type))
 */
export function callbackSink(fn: (event: AuditEvent) => void | Promise<void>): Sink {
  return {
    name: 'callback',
    async write(batch) {
      for (const event of batch.events) await fn(event);
    },
  };
}
