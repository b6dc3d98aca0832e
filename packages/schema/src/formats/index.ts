import { AuthtrailError } from '../errors.js';
import type { AuditEvent, EventFormat } from '../types.js';
import { compact } from './compact.js';
import { toEcs, type EcsDocument } from './ecs.js';
import { toOcsf, type OcsfEvent } from './ocsf.js';

export { toEcs, ECS_VERSION, type EcsDocument } from './ecs.js';
export { toOcsf, OCSF_VERSION, type OcsfEvent } from './ocsf.js';
export { prettyLine, type PrettyOptions } from './pretty.js';
export type { EventFormat, LineFormat } from '../types.js';

/**
 * The formats that render an event as a JSON document, in the order error messages list them:
 * what every sink takes.
 */
export const EVENT_FORMATS = ['native', 'ecs', 'ocsf'] as const satisfies readonly EventFormat[];

/** What {@link formatEvent} returns for each format. */
export type FormattedEvent<F extends EventFormat = EventFormat> = {
  native: AuditEvent;
  ecs: EcsDocument;
  ocsf: OcsfEvent;
}[F];

/** Whether `value` is one of {@link EVENT_FORMATS}: a format every sink takes. */
export function isEventFormat(value: unknown): value is EventFormat {
  return (EVENT_FORMATS as readonly unknown[]).includes(value);
}

/**
 * One event in the given format, as a new plain object without `undefined` values. The event
 * itself is never changed.
 * @example
 * formatEvent(event, 'ecs')['@timestamp'];
 * formatEvent(event, 'ocsf').class_uid; // 3002 for authn.* / oauth.*
 */
export function formatEvent<F extends EventFormat>(event: AuditEvent, format: F): FormattedEvent<F>;
export function formatEvent(event: AuditEvent, format: EventFormat): FormattedEvent {
  switch (format) {
    case 'native':
      return compact(event);
    case 'ecs':
      return toEcs(event);
    case 'ocsf':
      return toOcsf(event);
    default:
      throw formatError(format);
  }
}

/**
 * The error core's option checks throw for a wrong format (`ERR_AUTHTRAIL_INVALID_OPTIONS`, one
 * problem), made here because this package imports nothing. What was received is described as
 * core's `shapeOf` describes it (core's test pins the two together), except that a URL is only a
 * string here: a mistyped word is shown, any other string only by its length, since a value passed
 * by mistake can be a secret.
 */
function formatError(value: unknown): AuthtrailError {
  const path = 'formatEvent(event, format)';
  const fix = `use one of ${EVENT_FORMATS.map((f) => `'${f}'`).join(', ')}`;
  const received = describe(value);
  return new AuthtrailError(
    'ERR_AUTHTRAIL_INVALID_OPTIONS',
    `authtrail options have 1 problem:\n  - ${path}: received ${received}; ${fix}`,
    [{ path, received, fix }],
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value !== 'string')
    return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  if (value === '') return 'an empty string';
  return /^[a-z][a-z-]{0,23}$/i.test(value)
    ? JSON.stringify(value)
    : `a string of ${value.length} characters`;
}
