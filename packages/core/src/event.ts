import { outcomeOf, type AuditEvent, type ObserverRole } from '@authtrail/schema';
import { uuidv7 } from './internal/uuid.js';

export type Observers = Readonly<Record<ObserverRole, AuditEvent['observer']>>;

/** Who observes: the values of every event's `observer` block but its role. */
export interface ObserverIdentity {
  /** `observer.service`: the `service` option. */
  readonly service: string;
  /** `observer.instance`: host name and process id. */
  readonly instance: string;
  /** `observer.adapter`: the adapter that saw the request (`'core'` for the auditor's own events). */
  readonly adapter: string;
}

/** The three observer blocks of an auditor or adapter, built once and shared by its events. */
export function observers({ service, instance, adapter }: ObserverIdentity): Observers {
  const make = (role: ObserverRole) => Object.freeze({ role, service, instance, adapter });
  return Object.freeze({ rp: make('rp'), op: make('op'), rs: make('rs') });
}

// ISO-8601 time, made cheaply: the date and time up to the second change once a second, so they are
// formatted then, and each event appends its milliseconds (toISOString costs ~0.5 µs an event).
// Under load many events share a millisecond: they share its string too.
let second = NaN;
let prefix = '';
let lastMs = NaN;
let last = '';
function isoTime(ms: number): string {
  if (ms === lastMs) return last;
  if (!Number.isInteger(ms) || ms < 0 || ms > 253_402_300_799_999)
    return new Date(ms).toISOString();
  const rest = ms % 1000;
  if (ms - rest !== second) {
    second = ms - rest;
    prefix = new Date(second).toISOString().slice(0, 20); // 2026-11-24T21:53:43.
  }
  lastMs = ms;
  return (last = prefix + (rest < 10 ? '00' : rest < 100 ? '0' : '') + rest + 'Z');
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
    time: isoTime(timeMs),
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
    detection: undefined,
    delivery: undefined,
    seq: undefined,
    chain: undefined,
  };
}

/**
 * What an injected clock / id source (the `clock` and `ids` options, for tests) does to each event
 * as it is queued: overwrite `time` and `id` in place, keeping the event's shape. Undefined when
 * neither is set, so production auditors pay nothing per event. Never throws: a clock that returns
 * something other than a finite number leaves the time as it was.
 */
export function stamper(
  clock: (() => number) | undefined,
  ids: ((timeMs: number) => string) | undefined,
): ((event: AuditEvent) => void) | undefined {
  if (clock === undefined && ids === undefined) return undefined;
  return (event) => {
    let timeMs = clock?.();
    if (typeof timeMs === 'number' && Number.isFinite(timeMs)) {
      event.time = new Date(timeMs).toISOString();
      if (ids === undefined) event.id = uuidv7(timeMs);
    } else timeMs = Date.parse(event.time);
    if (ids !== undefined) event.id = String(ids(timeMs));
  };
}
