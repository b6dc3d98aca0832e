/**
 * `@authtrail/core/sink`: what a sink author needs, and nothing of the auditor's insides.
 *
 * - the contract: {@link Sink} (what an auditor writes to), {@link Batch} (what `write` gets),
 *   {@link SinkHost} (what `attach` gets);
 * - the formats an event is rendered in: {@link formatEvent} (`native`, `ecs`, `ocsf`);
 * - one option-check kit, {@link checkOptions} with {@link shapeOf}, so a sink's options fail at
 *   startup with the typed `AuthtrailError` (`ERR_AUTHTRAIL_INVALID_OPTIONS`) core's own options
 *   throw, listing every problem and never a secret;
 * - for store engines that keep their files in a directory (the embedded store): {@link takeLock},
 *   the single-writer lock file that names its holder ({@link LockHolder}) when it is refused;
 * - the HTTP toolkit the built-in HTTP sinks are made of: {@link resolveHttp} checks the URL
 *   and {@link HttpCommonOptions}, {@link httpSender} POSTs under the delivery contract (reject,
 *   and the auditor's queue retries with backoff).
 *
 * Apps and adapters import `@authtrail/core`; a sink package imports this entry and, for what an
 * app passes it, the main entry's public API.
 * @example
 * import { checkOptions, drain, httpSender, resolveHttp, type HttpCommonOptions, type Sink }
 *   from '@authtrail/core/sink';
 *
 * export function collectorSink(url: string, options: HttpCommonOptions = {}): Sink {
 *   const target = resolveHttp(checkOptions('collectorSink', options), url, {
 *     name: 'collector',
 *     known: [],
 *     format: 'native',
 *     contentType: 'application/x-ndjson',
 *     credentials: 'pass them in `headers` instead',
 *   });
 *   const { send, close } = httpSender(target);
 *   return {
 *     name: target.name,
 *     close,
 *     async write(batch) {
 *       await drain(await send(batch.lines(target.format)));
 *     },
 *   };
 * }
 * @packageDocumentation
 */
export type { AuditEvent, EventFormat, LineFormat, ManualEvent } from '@authtrail/schema';
export type { Batch, SignInGuard, Sink, SinkHost } from './types.js';
export { AuthtrailError, type AuthtrailErrorCode, type OptionIssue } from '@authtrail/schema';
export { shapeOf } from './errors.js';
export { checkOptions, type OptionCheck } from './internal/option-check.js';
export {
  EVENT_FORMATS,
  formatEvent,
  isEventFormat,
  prettyLine,
  toEcs,
  toOcsf,
  type EcsDocument,
  type FormattedEvent,
  type OcsfEvent,
  type PrettyOptions,
} from '@authtrail/schema';
export {
  resolveHttp,
  type HttpCommonOptions,
  type HttpSpec,
  type HttpTarget,
} from './internal/http-options.js';
export { takeLock, type LockAttempt, type LockHolder } from './internal/pid-lock.js';
/** The JWS algorithms `verify` accepts by default (asymmetric only): what a detector may call allowed. */
export { DEFAULT_ALGORITHMS } from './token/verify-options.js';
export {
  drain,
  eachLine,
  httpSender,
  writeFailed,
  type HttpSender,
  type Signing,
} from './internal/http-send.js';
