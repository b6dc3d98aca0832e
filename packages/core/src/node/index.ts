export {
  arrival,
  attachAdapter,
  markRoute,
  plainClaims,
  since,
  whenAdmitted,
  type AdapterOptions,
  type AttachedAdapter,
  type RequestState,
} from './adapter.js';
export { clientIp, type HasClientIp } from './client-ip.js';
export { afterVerdict, answerLocked, lockedAnswer, type LockedAnswer } from './sign-in-guard.js';
export { mountedRoute } from './route.js';
export { auditRefresh, type RefreshStart } from './refresh.js';
export {
  keepTransactionOnAssign,
  keepUserOnAssign,
  observeRequest,
  sessionFacts,
  watchRpRoute,
  type KeptTransaction,
  type SessionFacts,
} from './session.js';
// What adapters call of the integrations: the libraries' knowledge lives there, one module each.
export { keepSessionOnAssign, type KeptSession } from '../integrations/express-openid-connect.js';
export { noteProviderErrors, type ErrorEmitter } from '../integrations/oidc-provider.js';
export { ERROR_KEY, SESSION_KEY, STATE_KEY, TRANSACTION_KEY } from './symbols.js';
