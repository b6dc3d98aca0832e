import type { ResolvedOptions } from './options.js';
import { outcomeOf } from './taxonomy.js';
import type { AuditEvent, ObserverRole } from './types.js';
import { uuidv7 } from './internal/uuid.js';

type Observers = Readonly<Record<ObserverRole, AuditEvent['observer']>>;

/** The three observer blocks of an auditor, built once and shared by its events. */
export function observers(o: ResolvedOptions): Observers {
  const make = (role: ObserverRole) =>
    Object.freeze({ role, service: o.service, instance: o.instance, adapter: o.adapter });
  return Object.freeze({ rp: make('rp'), op: make('op'), rs: make('rs') });
}

/**
 * The one factory of events: every field initialised, in schema order, so all events share one
 * shape (JSON output omits the undefined ones).
 */
export function newEvent(
  observer: AuditEvent['observer'],
  type: string,
  timeMs: number,
): AuditEvent {
  return {
    schema: 1,
    id: uuidv7(timeMs),
    time: new Date(timeMs).toISOString(),
    type,
    outcome: outcomeOf(type),
    observer,
    reason: undefined,
    error: undefined,
    user: undefined,
    client: undefined,
    oauth: undefined,
    session: undefined,
    flow: undefined,
    http: undefined,
    source: undefined,
    trace: undefined,
    seq: undefined,
    chain: undefined,
  };
}
