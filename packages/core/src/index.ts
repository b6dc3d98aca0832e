export { createAuditor, auditErrorChannel, type Auditor } from './auditor.js';
export { AuthtrailError, type AuthtrailErrorCode, type OptionIssue } from './errors.js';
export {
  EventTypes,
  Reasons,
  isEventType,
  type EventType,
  type Reason,
  type Outcome,
} from './taxonomy.js';
export { resolveOptions, type AuthtrailOptions, type ResolvedOptions } from './options.js';
export type { RouteKind, RouteOptions } from './classify.js';
export { bearerToken, inspectToken, type TokenShape } from './token.js';
export type { VerifyOptions } from './verify.js';
export { sinkErrorChannel } from './delivery/queue.js';
export { stdoutSink, type StreamSinkOptions } from './sinks/stdout.js';
export { fileSink } from './sinks/file.js';
export { memorySink, type MemorySink } from './sinks/memory.js';
export { callbackSink } from './sinks/callback.js';
export type {
  AuditEvent,
  AuditorStats,
  Batch,
  Claims,
  HeaderBag,
  ManualEvent,
  ObserverRole,
  RequestFacts,
  Sink,
  TokenInfo,
} from './types.js';
