export {
  createAuditor,
  auditErrorChannel,
  type AdapterHandle,
  type Auditor,
  type AuditRecorder,
  type SignInAttempt,
} from './auditor.js';
export { AuthtrailError, type AuthtrailErrorCode, type OptionIssue } from '@authtrail/schema';
export {
  afterVerdict,
  answerLocked,
  arrival,
  attachAdapter,
  markRoute,
  auditRefresh,
  clientIp,
  keepSessionOnAssign,
  keepTransactionOnAssign,
  keepUserOnAssign,
  lockedAnswer,
  mountedRoute,
  noteProviderErrors,
  observeRequest,
  plainClaims,
  sessionFacts,
  since,
  watchRpRoute,
  whenAdmitted,
  ERROR_KEY,
  SESSION_KEY,
  STATE_KEY,
  TRANSACTION_KEY,
  type AdapterOptions,
  type AttachedAdapter,
  type ErrorEmitter,
  type HasClientIp,
  type KeptSession,
  type KeptTransaction,
  type LockedAnswer,
  type RefreshStart,
  type RequestState,
  type SessionFacts,
} from './node/index.js';
export {
  EventTypes,
  Reasons,
  isEventType,
  detectionProblems,
  isUuid,
  isZonedTime,
  type EventType,
  type Reason,
  type Outcome,
} from '@authtrail/schema';
export type { AuthtrailOptions } from './options.js';
export type { SignInOptions } from './observe/sign-in-route.js';
export type { RequestView } from './observe/common.js';
export type { RouteKind, RouteOptions } from './classify.js';
export type { PolicyRule } from './policy.js';
export { looksSecret, redactPath } from './redact.js';
export type { VerifyOptions } from './token/verify-options.js';
export { sinkErrorChannel } from './delivery/queue.js';
export { stdoutSink, type StreamSinkOptions } from './sinks/stdout.js';
export { fileSink } from './sinks/file.js';
export type { FileSinkOptions } from './sinks/file.js';
export { memorySink, type MemorySink } from './sinks/memory.js';
export type { MemorySinkOptions } from './sinks/memory.js';
export { callbackSink } from './sinks/callback.js';
export type { CallbackSinkOptions } from './sinks/callback.js';
export { httpSink, type HttpCommonOptions, type HttpSinkOptions } from './sinks/http.js';
export { splunkHec, type SplunkHecOptions } from './sinks/splunk-hec.js';
export { elasticsearchBulk, type ElasticsearchBulkOptions } from './sinks/elasticsearch-bulk.js';
export {
  ECS_VERSION,
  OCSF_VERSION,
  formatEvent,
  prettyLine,
  toEcs,
  toOcsf,
  type EcsDocument,
  type EventFormat,
  type FormattedEvent,
  type LineFormat,
  type OcsfEvent,
  type PrettyOptions,
} from '@authtrail/schema';
export {
  ChainVerifier,
  type ChainProblem,
  type ChainProblemKind,
  type ChainReport,
  type ChainVerifierOptions,
} from './integrity/verify-chain.js';
export { chainKeyId, type ChainKey } from './integrity/chain.js';
export {
  DEFAULT_EPOCH_MS,
  MAX_EPOCH_MS,
  MIN_EPOCH_MS,
  formatSeed,
  parseSeed,
  setupSealing,
  type SealingSeed,
} from './integrity/sealing.js';
// The event model, taxonomy, error and formats live in @authtrail/schema (no Node.js, a browser
// can import it); they are re-exported here under the same names.
export type {
  AuditEvent,
  ChainLink,
  ChainRun,
  DetectionInfo,
  DetectionSeverity,
  ManualEvent,
  ObserverRole,
  TokenInfo,
} from '@authtrail/schema';
export type {
  AuditorStats,
  SinkStats,
  Batch,
  Claims,
  HeaderBag,
  RequestFacts,
  Sink,
  SignInGuard,
  SinkHost,
} from './types.js';
