import { invalidOptions, shapeOf } from '../errors.js';
import type { AuditEvent, EventFormat } from '../types.js';
import { compact } from './compact.js';
import { toEcs, type EcsDocument } from './ecs.js';
import { toOcsf, type OcsfEvent } from './ocsf.js';

export { toEcs, ECS_VERSION, type EcsDocument } from './ecs.js';
export { toOcsf, OCSF_VERSION, type OcsfEvent } from './ocsf.js';
export type { EventFormat } from '../types.js';

/** Every output format, in the order error messages list them. */
export const EVENT_FORMATS = ['native', 'ecs', 'ocsf'] as const satisfies readonly EventFormat[];

/** What {@link formatEvent} returns for each format. */
export type FormattedEvent<F extends EventFormat = EventFormat> = {
  native: AuditEvent;
  ecs: EcsDocument;
  ocsf: OcsfEvent;
}[F];

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
      throw formatError(`formatEvent(event, format)`, format);
  }
}

/**
 * The format a sink was given, checked where the sink is created: an unknown one throws
 * `ERR_AUTHTRAIL_INVALID_OPTIONS` naming the value received and the valid ones.
 */
export function resolveFormat(value: unknown, where: string): EventFormat {
  if (value === undefined) return 'native';
  if (isEventFormat(value)) return value;
  throw formatError(where, value);
}

function formatError(where: string, value: unknown) {
  return invalidOptions([
    {
      path: where,
      received: shapeOf(value, EVENT_FORMATS),
      fix: `use one of ${EVENT_FORMATS.map((f) => `'${f}'`).join(', ')}`,
    },
  ]);
}
