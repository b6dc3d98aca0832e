/**
 * `@authtrail/detect`: real-time detection over an auditor's events. `detectors()` is a sink that
 * runs the built-in detectors (brute force, distributed brute force, password spraying, credential
 * stuffing, success after brute force, disallowed JWT algorithm, invalid-signature bursts,
 * access-token replay, silent pipeline) and your own, and records each decision as a `*.detected`
 * audit event.
 * @packageDocumentation
 */
export { detectors, type DetectorsSink, type DetectorsStats } from './detectors.js';
export type { BuiltInsOptions, DetectorsOptions } from './options.js';
export type { EnforceOptions, EnforceStats } from './lockouts.js';
export { memoryState, type MemoryStateOptions } from './memory-state.js';
export type { AlertDestination, AlertNotification, AlertsOptions, AlertStats } from './alerts.js';
export {
  alertmanagerAlert,
  callbackAlert,
  pagerDutyAlert,
  slackAlert,
  webhookAlert,
  type AlertHttpOptions,
  type AlertmanagerAlertOptions,
  type PagerDutyAlertOptions,
  type SlackAlertOptions,
  type WebhookAlertOptions,
} from './alerts-destinations.js';
export { DEFAULT_ALLOWED_ALGORITHMS } from './built-ins.js';
export type {
  BucketRule,
  ConsecutiveRule,
  CountRule,
  Detector,
  DetectorState,
  DistinctRule,
  Reading,
  LockSharing,
  Rule,
  SequenceRule,
  SharedLock,
  StateChange,
  StateOp,
  StateResult,
  SubjectField,
  SurgeRule,
  Held,
  Sighting,
  Silence,
  SilenceRule,
  Silences,
} from './types.js';
