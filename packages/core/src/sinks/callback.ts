import { formatEvent, type EventFormat, type FormattedEvent } from '@authtrail/schema';
import { checkOptions } from '../internal/option-check.js';
import type { Sink } from '../types.js';

/** Options of {@link callbackSink}. */
export interface CallbackSinkOptions<F extends EventFormat = 'native'> {
  /** What `fn` receives: the native event, or a new ECS / OCSF object. @default 'native' */
  format?: F;
}

/**
 * Calls `fn` once per event, in order. If `fn` returns a promise the queue waits for it; a throw or
 * rejection counts as a failed write (see `stats().failed`) and never reaches the request.
 * With `format: 'native'` (the default) `fn` receives the event itself: treat it as read only.
 * @example
 * callbackSink((event) => metrics.increment(event.type));
 * callbackSink((doc) => bulk.push(doc), { format: 'ecs' });
 */
export function callbackSink<F extends EventFormat = 'native'>(
  fn: (event: FormattedEvent<F>) => void | Promise<void>,
  options: CallbackSinkOptions<F> = {},
): Sink {
  const check = checkOptions('callbackSink', options, 'fn');
  const format = check.format();
  check.done();
  return {
    name: 'callback',
    async write(batch) {
      for (const event of batch.events) {
        await fn((format === 'native' ? event : formatEvent(event, format)) as FormattedEvent<F>);
      }
    },
  };
}
