import { invalidOptions, shapeOf } from '../errors.js';
import type { AuditEvent, EventFormat, LineFormat } from '../types.js';
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

/**
 * What the sinks for people take (`stdoutSink`, `memorySink`): the JSON formats and `pretty`, one
 * readable line per event for development. Sinks whose output a machine reads reject `pretty`.
 */
export const LINE_FORMATS = [...EVENT_FORMATS, 'pretty'] as const satisfies readonly LineFormat[];

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
      throw formatError(`formatEvent(event, format)`, format);
  }
}

function formatError(
  where: string,
  value: unknown,
  accepted: readonly LineFormat[] = EVENT_FORMATS,
) {
  return invalidOptions([
    {
      path: where,
      received: shapeOf(value, accepted),
      fix: `use one of ${accepted.map((f) => `'${f}'`).join(', ')}`,
    },
  ]);
}
