import type { Claims } from '../types.js';
import { SESSION_KEY } from './symbols.js';

/** Who a request's session named, as {@link keepSessionOnAssign} kept it. */
export interface KeptSession {
  user?: Claims;
  idTokenClaims?: Claims;
}

/**
 * Keeps who the session named each time an RP library assigns `holder.oidc` (express-openid-connect
 * sets `req.oidc` per request): its logout clears the session before the redirect, so by the time
 * the response is finished `req.oidc.user` is gone. Read it back from `holder[SESSION_KEY]`.
 */
export function keepSessionOnAssign(holder: object): void {
  let context: KeptSession | undefined;
  Object.defineProperty(holder, 'oidc', {
    configurable: true,
    enumerable: true,
    get: () => context,
    set(value: KeptSession | undefined) {
      context = value;
      (holder as { [SESSION_KEY]?: KeptSession })[SESSION_KEY] = {
        user: value?.user,
        idTokenClaims: value?.idTokenClaims,
      };
    },
  });
}
