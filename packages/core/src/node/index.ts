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
export { keepSessionOnAssign, type KeptSession } from './session.js';
export { ERROR_KEY, SESSION_KEY, STATE_KEY } from './symbols.js';
