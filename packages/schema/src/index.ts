/**
 * `@authtrail/schema`: the audit event as data, for every program that reads or writes the trail,
 * a browser included. It holds the event model ({@link AuditEvent}, {@link ManualEvent}), the
 * taxonomy ({@link EventTypes}, {@link Reasons}), the one error type ({@link AuthtrailError}) and
 * the formats an event is rendered in (native, ECS, OCSF, pretty). It uses no Node.js API and
 * imports nothing: its build is compiled without Node's types, so neither can creep in.
 *
 * `@authtrail/core` re-exports all of it; an app using core needs nothing from here.
 * @example
 * import { EventTypes, formatEvent, type AuditEvent } from '@authtrail/schema';
 *
 * const failures = (events: AuditEvent[]) =>
 *   events.filter((e) => e.type === EventTypes.LOGIN_FAILURE).map((e) => formatEvent(e, 'ecs'));
 * @packageDocumentation
 */
export { AuthtrailError, type AuthtrailErrorCode, type OptionIssue } from './errors.js';
export { DETECTION_SEVERITIES, detectionProblems, isDetectorName } from './detection.js';
export { isUuid, isZonedTime } from './values.js';
export {
  EventTypes,
  Reasons,
  isEventType,
  outcomeOf,
  type EventType,
  type Outcome,
  type Reason,
} from './taxonomy.js';
export {
  ECS_VERSION,
  EVENT_FORMATS,
  OCSF_VERSION,
  formatEvent,
  isEventFormat,
  prettyLine,
  toEcs,
  toOcsf,
  type EcsDocument,
  type FormattedEvent,
  type OcsfEvent,
  type PrettyOptions,
} from './formats/index.js';
export type {
  AuditEvent,
  AccessInfo,
  ChainLink,
  ChainRun,
  DetectionInfo,
  LockoutInfo,
  DetectionSeverity,
  EventFormat,
  HeartbeatInfo,
  LineFormat,
  ManualEvent,
  ManualEventOwnFields,
  ObserverRole,
  RetentionInfo,
  TokenInfo,
} from './types.js';
