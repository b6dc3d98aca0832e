import { createHash } from 'node:crypto';
import {
  keepSessionOnAssign,
  oidcContext,
  oidcTransactionFound,
  type KeptSession,
} from '../integrations/express-openid-connect.js';
import type { AdapterHandle } from '../auditor.js';
import type { Claims, RequestFacts } from '../types.js';
import { SESSION_KEY, TRANSACTION_KEY } from './symbols.js';

/**
 * Keeps who a session-based auth layer signed in each time it assigns `holder.user` with someone
 * (Passport's session strategy, per request): its `logout()` sets `req.user = null` before the
 * redirect. Read it back from `keeper[SESSION_KEY].user`; the keeper is the holder unless the
 * framework keeps the user apart from its request (koa-passport's `ctx.state`).
 */
export function keepUserOnAssign(holder: object, keeper: object = holder): void {
  // A user already there (a plugin ran first) is kept as if assigned now.
  const keep = (value: unknown) => {
    if (value !== null && typeof value === 'object')
      (keeper as { [SESSION_KEY]?: KeptSession })[SESSION_KEY] = { user: value as Claims };
  };
  let user = (holder as { user?: unknown }).user;
  keep(user);
  Object.defineProperty(holder, 'user', {
    configurable: true,
    enumerable: true,
    get: () => user,
    set(value: unknown) {
      user = value;
      keep(value);
    },
  });
}

/** What a callback's session held of its login transaction; `flow` as in `RequestFacts.flowKey`. */
export interface KeptTransaction {
  found: boolean;
  flow: string | undefined;
}

/**
 * On a callback: notes whether the app's session held an openid-client login transaction, before
 * the app consumes it (openid-client's Passport strategy deletes it, and Passport regenerates the
 * session at login). A transaction is an object with a string `code_verifier`, under any key of the
 * session (openid-client's strategy uses the issuer's host) or the session itself. Only its nonce,
 * or the S256 challenge of the verifier, is kept: both are sent through the browser anyway. Read it
 * from `holder[TRANSACTION_KEY]`.
 *
 * Sessions are seen where the session layer hands them over, never read ahead of the app:
 * - assigned to `holder.session` (express-session, @fastify/session; one already there is looked
 *   at now);
 * - read through a getter the holder inherits (koa-session's `ctx.session`): each time the app
 *   reads it. Reading it first could be too early: with an external store, koa-session loads the
 *   session in its middleware, and a read before that makes an empty one.
 * Once a transaction was seen it stays found: a session looked at earlier may not have been loaded
 * yet (@fastify/session assigns `{}` first), one looked at later is the app's regenerated one.
 */
export function keepTransactionOnAssign(holder: object): void {
  const h = holder as { [TRANSACTION_KEY]?: KeptTransaction; session?: unknown };
  const note = (value: unknown) => {
    if (h[TRANSACTION_KEY]?.found !== true && value !== null && typeof value === 'object')
      h[TRANSACTION_KEY] = transactionIn(value as Record<string, unknown>);
  };
  const inherited = inheritedAccessor(holder, 'session');
  if (inherited !== undefined) {
    Object.defineProperty(holder, 'session', {
      configurable: true,
      enumerable: true,
      get(this: object) {
        const value: unknown = inherited.get!.call(this);
        note(value);
        return value;
      },
      set(this: object, value: unknown) {
        inherited.set?.call(this, value);
      },
    });
    return;
  }
  let session = Object.prototype.hasOwnProperty.call(holder, 'session') ? h.session : undefined;
  note(session);
  Object.defineProperty(holder, 'session', {
    configurable: true,
    enumerable: true,
    get: () => session,
    set(value: unknown) {
      session = value;
      note(value);
    },
  });
}

/** A getter for `key` on the holder's prototype chain (koa-session's on `app.context`). */
function inheritedAccessor(holder: object, key: string): PropertyDescriptor | undefined {
  for (
    let p = Object.getPrototypeOf(holder) as object | null;
    p !== null;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (d !== undefined) return d.get !== undefined ? d : undefined;
  }
  return undefined;
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
 * For adapters, on a relying-party route: on the logout route keeps who is signed out, on the
 * callback what transaction the session held. Other routes are left alone. `userHolder` is where
 * the session layer puts its user when not on the request (koa-passport's `ctx.state`).
 */
export function watchRpRoute(
  holder: object,
  kind: string | undefined,
  userHolder: object = holder,
): void {
  if (kind === 'logout') {
    keepSessionOnAssign(holder);
    keepUserOnAssign(userHolder, holder);
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
  // A layer that tells who signed in, or only a session store (which does not).
  const session =
    oidc !== undefined || typeof h.isAuthenticated === 'function'
      ? 'user'
      : hasSession(h)
        ? 'store'
        : undefined;
  return {
    user:
      library?.user ?? (user !== null && typeof user === 'object' ? (user as Claims) : undefined),
    idTokenClaims: library?.idTokenClaims,
    session,
    // A session without a transaction means a missing one only where Passport runs (openid-client's
    // strategy keeps it there): a hand-made RP may keep its own elsewhere, or in another shape.
    transactionFound:
      kind !== 'callback'
        ? undefined
        : oidc !== undefined
          ? oidcTransactionFound(holder)
          : kept?.found === true || session === 'user'
            ? kept?.found
            : undefined,
    flowKey: kept?.flow,
  };
}

/**
 * Hands a finished request's facts to core with what the app's session layer shows, where that
 * matters (see {@link sessionFacts}): `holder` is the framework's request (none: no session layer to
 * read, auditing an OP), `user` the session layer's user where the framework keeps it. Other
 * requests' facts go as they are: nothing is allocated for them.
 */
export function observeRequest(
  handle: AdapterHandle,
  holder: object | undefined,
  kind: string | undefined,
  user: unknown,
  facts: RequestFacts,
): void {
  const s = holder === undefined ? undefined : sessionFacts(holder, kind, facts.status, user);
  if (s !== undefined) {
    facts.user = s.user;
    facts.idTokenClaims = s.idTokenClaims;
    facts.session = s.session;
    facts.transactionFound = s.transactionFound;
    facts.flowKey = s.flowKey;
  }
  handle.observe(facts);
}

/** A session is there: koa-session's `ctx.session` is a getter of its own, which must not throw out. */
function hasSession(h: Watched): boolean {
  try {
    return h.session !== null && h.session !== undefined;
  } catch {
    return false;
  }
}
