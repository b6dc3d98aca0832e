import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { clientIp, type HasClientIp } from '../node/client-ip.js';
import { auditRefresh, refreshRecorder, type RefreshStart } from '../node/refresh.js';
import { SESSION_KEY } from '../node/symbols.js';
import type { AuditRecorder, Claims, HeaderBag } from '../types.js';

/**
 * Everything authtrail knows of express-openid-connect, in one place: its request context
 * (`req.oidc`, kept on logout), whether a callback found its login transaction (`req.openidState`,
 * the `auth_verification` cookie), and its `accessToken.refresh()`, recorded through a hook. The
 * library is never imported: it is read as it leaves requests, and hooked where it is loaded.
 */

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

/** What express-openid-connect leaves on the request. */
interface OidcRequest {
  /** Its request context: who is signed in (`user`, `idTokenClaims`). */
  oidc?: KeptSession;
  /** Set by its callback once it found the login transaction the browser brought back. */
  openidState?: unknown;
}

/** express-openid-connect's request context, when the library runs on this request. */
export function oidcContext(holder: object): KeptSession | undefined {
  return (holder as OidcRequest).oidc;
}

/** On a callback that express-openid-connect handled: whether it found its login transaction. */
export function oidcTransactionFound(holder: object): boolean {
  return (holder as OidcRequest).openidState !== undefined;
}

/** Flags a `RequestContext` prototype already hooked (by this copy of authtrail or another). */
const HOOKED = Symbol.for('authtrail.oidcRefreshHook');
const CONTEXT_FILE = `${sep}express-openid-connect${sep}lib${sep}context.js`;

/** What the hook reads of the Express request express-openid-connect's context belongs to. */
interface HookedRequest extends HasClientIp {
  audit?: AuditRecorder;
  headers?: HeaderBag;
  app?: { get?(setting: string): unknown };
}

/** What it reads of `req.oidc` (a `RequestContext`), through the library's own getters. */
interface RequestContext {
  readonly refreshToken?: unknown;
  readonly idTokenClaims?: Claims;
}

type Refresh = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/**
 * Records express-openid-connect's `req.oidc.accessToken.refresh()` as `oauth.token_refresh.*`,
 * on every copy of the library the process has loaded. One change to its `RequestContext`
 * prototype, made once: the `accessToken` getter hands out a `refresh` that reports how the grant
 * settled. Requests that never read `req.oidc.accessToken` pay nothing; a read pays one closure
 * (the getter already builds an object and two bound functions), and only on requests an adapter
 * audits. The library is never loaded here: an API that has it installed but does not use it
 * keeps its startup (loading it costs ~100 ms and 3 MB). Answers how many copies are hooked now.
 */
export function observeOidcRefresh(): number {
  const hooked = hookLoaded();
  // An app may require the library after creating the adapter (`app.use(require(...).auth())`
  // below `app.use(authtrail())`): its setup has run by the time the first request can come.
  if (!lookAgain) {
    lookAgain = true;
    setImmediate(() => {
      lookAgain = false;
      hookLoaded();
    });
  }
  return hooked;
}

let lookAgain = false;

/** Hooks each copy in the module cache (ESM imports of the library land there too). */
function hookLoaded(): number {
  let hooked = 0;
  for (const file of Object.keys(createRequire(join(process.cwd(), 'index.js')).cache))
    if (file.endsWith(CONTEXT_FILE) && hook(file)) hooked++;
  return hooked;
}

function hook(file: string): boolean {
  let proto: object | undefined;
  let contextOf: unknown;
  try {
    const load = createRequire(file);
    proto = (load(file) as { RequestContext?: { prototype?: object } }).RequestContext?.prototype;
    // The library's private store of each context's request (lib/weakCache.js, a WeakMap).
    contextOf = load('./weakCache.js');
  } catch {
    return false; // a version laid out otherwise: nothing to hook, nothing broken
  }
  if (proto === undefined || typeof contextOf !== 'function') return false;
  if (Object.hasOwn(proto, HOOKED)) return true;
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'accessToken');
  const get = descriptor?.get;
  if (!descriptor || typeof get !== 'function') return false;
  const requestOf = contextOf as (context: object) => { req?: HookedRequest } | undefined;

  try {
    Object.defineProperty(proto, 'accessToken', {
      ...descriptor,
      get(this: RequestContext) {
        const token = get.call(this) as { refresh?: unknown } | undefined;
        const refresh = token?.refresh;
        if (typeof refresh !== 'function') return token;
        const req = requestOf(this)?.req;
        if (req === undefined || refreshRecorder(req.audit) === undefined) return token;
        token!.refresh = audited(this, req, refresh as Refresh);
        return token;
      },
    });
    Object.defineProperty(proto, HOOKED, { value: true });
  } catch {
    return false; // a frozen prototype: left as it is
  }
  return true;
}

/** The `refresh` handed out: reports how the grant settled to the request's adapter recorder. */
function audited(context: RequestContext, req: HookedRequest, refresh: Refresh): Refresh {
  return function refreshAudited(this: unknown, ...args: unknown[]) {
    // Read before the grant (a success replaces the session's tokens), and never in the way of
    // it: whatever happens here, the app's refresh runs and its outcome is what the app gets.
    let start: RefreshStart | undefined;
    try {
      start = {
        refreshToken: typeof context.refreshToken === 'string' ? context.refreshToken : undefined,
        idTokenClaims: context.idTokenClaims,
        headers: req.headers,
        ip: clientIp(req.app?.get?.('trust proxy'), req),
      };
    } catch {
      start = undefined;
    }
    const pending = refresh.apply(this, args);
    return start === undefined ? pending : auditRefresh(req.audit, pending, start);
  };
}

const TRANSACTION_COOKIE = /(?:^|;\s*)_?auth_verification=([^;]*)/;

/**
 * The `state` and `nonce` of the login transaction the browser brought back, read from
 * express-openid-connect's transaction cookie (`auth_verification`, signed JSON in clear).
 * express-openid-connect drops the reason of a callback failure (a state mismatch reaches Express
 * as a bare `OAUTH_INVALID_RESPONSE`), so comparing the expected state with the one received is
 * the only way to name it. Only these two fields are read; the cookie also holds the PKCE
 * verifier, which is never touched, and nothing from it is logged but a keyed hash of the nonce.
 * `undefined` when the browser brought no transaction.
 */
export function readTransaction(
  cookieHeader: string | undefined,
): { state?: string; nonce?: string } | undefined {
  if (cookieHeader === undefined) return undefined;
  const m = TRANSACTION_COOKIE.exec(
    cookieHeader.length > 16_384 ? cookieHeader.slice(0, 16_384) : cookieHeader,
  );
  if (!m) return undefined;
  try {
    const raw = decodeURIComponent(m[1]!);
    const value: unknown = JSON.parse(
      raw.slice(0, raw.indexOf('.') === -1 ? raw.length : raw.indexOf('.')),
    );
    if (value === null || typeof value !== 'object') return {};
    const { state, nonce } = value as { state?: unknown; nonce?: unknown };
    return {
      state: typeof state === 'string' ? state : undefined,
      nonce: typeof nonce === 'string' ? nonce : undefined,
    };
  } catch {
    return {};
  }
}
