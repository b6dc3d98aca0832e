export {
  arrival,
  attachAdapter,
  clientIp,
  plainClaims,
  since,
  whenAdmitted,
  type AdapterOptions,
  type AttachedAdapter,
  type HasClientIp,
  type RequestState,
} from './adapter.js';
export { noteProviderErrors, type ErrorEmitter } from './provider-errors.js';
export { mountedRoute } from './route.js';
export { auditRefresh, type RefreshStart } from './refresh.js';
export {
  keepSessionOnAssign,
  keepTransactionOnAssign,
  keepUserOnAssign,
  sessionFacts,
  watchRpRoute,
  type KeptSession,
  type KeptTransaction,
  type SessionFacts,
} from './session.js';
export { ERROR_KEY, SESSION_KEY, STATE_KEY, TRANSACTION_KEY } from './symbols.js';
