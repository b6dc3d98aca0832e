import { createHash } from 'node:crypto';
import {
  keepSessionOnAssign,
  oidcContext,
  oidcTransactionFound,
  type KeptSession,
} from '../integrations/express-openid-connect.js';
import type { Claims } from '../types.js';
import { SESSION_KEY, TRANSACTION_KEY } from './symbols.js';

/**
 * Keeps who a session-based auth layer signed in each time it assigns `holder.user` with someone
 * (Passport's session strategy, per request): its `logout()` sets `req.user = null` before the
 * redirect. Read it back from `holder[SESSION_KEY].user`.
 */
export function keepUserOnAssign(holder: object): void {
  let user: unknown;
  Object.defineProperty(holder, 'user', {
    configurable: true,
    enumerable: true,
    get: () => user,
    set(value: unknown) {
      user = value;
      if (value !== null && typeof value === 'object')
        (holder as { [SESSION_KEY]?: KeptSession })[SESSION_KEY] = { user: value as Claims };
    },
  });
}

/** What a callback's session held of its login transaction; `flow` as in `RequestFacts.flowKey`. */
export interface KeptTransaction {
  found: boolean;
  flow: string | undefined;
}

/**
 * On a callback: notes, when the app's session is loaded (express-session assigns `holder.session`),
 * whether it held an openid-client login transaction, before the app consumes it (openid-client's
 * Passport strategy deletes it, and Passport regenerates the session at login). A transaction is an
 * object with a string `code_verifier`, under any key of the session (openid-client's strategy uses
 * the issuer's host) or the session itself. Only its nonce, or the S256 challenge of the verifier,
 * is kept: both are sent through the browser anyway. Read it from `holder[TRANSACTION_KEY]`.
 */
export function keepTransactionOnAssign(holder: object): void {
  let session: unknown;
  Object.defineProperty(holder, 'session', {
    configurable: true,
    enumerable: true,
    get: () => session,
    set(value: unknown) {
      session = value;
      const h = holder as { [TRANSACTION_KEY]?: KeptTransaction };
      // The first session is the one the callback came with; Passport's regenerate() makes another.
      if (h[TRANSACTION_KEY] === undefined && value !== null && typeof value === 'object')
        h[TRANSACTION_KEY] = transactionIn(value as Record<string, unknown>);
    },
  });
}

function transactionIn(session: Record<string, unknown>): KeptTransaction {
  let keys = 0;
  for (const key in session) {
    // A session is small; a huge one is not searched past its first keys.
    if (++keys > 32) break;
    const value = key === 'code_verifier' ? session : session[key];
    if (value === null || typeof value !== 'object') continue;
    const { code_verifier: verifier, nonce } = value as {
      code_verifier?: unknown;
      nonce?: unknown;
    };
    if (typeof verifier !== 'string') continue;
    return {
      found: true,
      flow:
        typeof nonce === 'string'
          ? nonce
          : createHash('sha256').update(verifier).digest('base64url'),
    };
  }
  return { found: false, flow: undefined };
}

/**
 * For adapters whose request is where session layers leave their state (Express's `req`): on the
 * logout route keeps who is signed out, on the callback what transaction the session held. Other
 * routes are left alone.
 */
export function watchRpRoute(holder: object, kind: string | undefined): void {
  if (kind === 'logout') {
    keepSessionOnAssign(holder);
    keepUserOnAssign(holder);
  } else if (kind === 'callback') keepTransactionOnAssign(holder);
}

/** The part of `RequestFacts` a session layer tells: see {@link sessionFacts}. */
export interface SessionFacts {
  user: Claims | undefined;
  idTokenClaims: Claims | undefined;
  session: 'user' | 'store' | undefined;
  transactionFound: boolean | undefined;
  flowKey: string | undefined;
}

interface Watched {
  [SESSION_KEY]?: KeptSession;
  [TRANSACTION_KEY]?: KeptTransaction;
  /** express-session's or koa-session's session. */
  session?: unknown;
  /** Passport's (koa-passport's) request method. */
  isAuthenticated?: unknown;
}

/**
 * What the app's session layer shows once the response is finished, read only where it matters:
 * on a relying-party route and on a refusal (401, 403). `user` is the session's user as the
 * framework keeps it (Passport's `req.user`, `ctx.state.user`); express-openid-connect's context
 * (or what a logout kept of it) comes first. Whether the callback found its transaction
 * (`transactionFound`) is judged by express-openid-connect (`req.openidState`) when that library
 * runs, else by what the session held (see {@link keepTransactionOnAssign}).
 */
export function sessionFacts(
  holder: object,
  kind: string | undefined,
  status: number,
  user: unknown,
): SessionFacts | undefined {
  if (kind === undefined && status !== 401 && status !== 403) return undefined;
  const h = holder as Watched;
  const oidc = oidcContext(holder);
  const library = h[SESSION_KEY] ?? oidc;
  const kept = h[TRANSACTION_KEY];
  return {
    user:
      library?.user ?? (user !== null && typeof user === 'object' ? (user as Claims) : undefined),
    idTokenClaims: library?.idTokenClaims,
    // A layer that tells who signed in, or only a session store (which does not).
    session:
      oidc !== undefined || typeof h.isAuthenticated === 'function'
        ? 'user'
        : hasSession(h)
          ? 'store'
          : undefined,
    transactionFound:
      kind !== 'callback'
        ? undefined
        : oidc !== undefined
          ? oidcTransactionFound(holder)
          : kept?.found,
    flowKey: kept?.flow,
  };
}

/** A session is there: koa-session's `ctx.session` is a getter of its own, which must not throw out. */
function hasSession(h: Watched): boolean {
  try {
    return h.session !== null && h.session !== undefined;
  } catch {
    return false;
  }
}
