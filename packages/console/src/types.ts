import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditRecorder } from '@authtrail/core';
import type { Store } from '@authtrail/store';

/**
 * What a role may do, each including the one before: `viewer` reads everything (overview, search,
 * events, trails, live tail), `auditor` also exports, `admin` may do all.
 */
export type ConsoleRole = 'viewer' | 'auditor' | 'admin';

/** Who is asking: a name for the access events, and the console roles they hold. */
export interface ConsolePrincipal {
  user: string;
  roles: readonly string[];
}

/**
 * How a request is signed in when it has no console session: a function, or an object with
 * `authenticate`, that reads the request (a session cookie of the app's own, a header a proxy
 * set) and returns who it is, or nothing. Roles outside {@link ConsoleRole} are ignored.
 * @example auth: (req) => (req.headers['x-user'] === 'alice' ? { user: 'alice', roles: ['viewer'] } : undefined)
 */
export type ConsoleAuth =
  | ((
      request: IncomingMessage,
    ) => ConsolePrincipal | undefined | Promise<ConsolePrincipal | undefined>)
  | {
      authenticate(
        request: IncomingMessage,
      ): ConsolePrincipal | undefined | Promise<ConsolePrincipal | undefined>;
    };

/** Options of {@link consoleHandler}. */
export interface ConsoleOptions {
  /** The store the console reads. Required. */
  store: Store;
  /**
   * Where every API call is recorded as `audit.access.success` / `audit.access.failure` (PCI DSS
   * 10.2.1.3). Required: give the app's auditor, or one writing into the same store.
   */
  auditor: Pick<AuditRecorder, 'record'>;
  /**
   * A one-time sign-in token (at least 32 characters): the first `GET <base>/login?token=<it>`
   * opens an admin session and spends it; it never works again. `authtrail console` makes one.
   * @default none (sign-in through `auth` only)
   */
  adminToken?: string;
  /** Signs in requests that have no console session (see {@link ConsoleAuth}). @default none */
  auth?: ConsoleAuth;
  /**
   * The path the console is mounted at, stripped by the handler (Koa, Fastify, a bare server).
   * Under Express, `app.use('/audit', ...)` strips it already: leave it out.
   * @default '' (Express's mount path, else the root)
   */
  basePath?: string;
  /**
   * Mark the session cookie `Secure` on every request, not only on those that arrived over TLS
   * (behind a proxy that ends TLS). @default false
   */
  secureCookie?: boolean;
  /** Sessions held at once; the oldest goes first. @default 1000 */
  maxSessions?: number;
  /** A session ends after this long without a request. @default 1800 (30 minutes) */
  idleTimeoutS?: number;
  /** A session ends this long after sign-in, however busy. @default 43200 (12 hours) */
  absoluteTimeoutS?: number;
  /** How long one store call may take before the answer is 503. @default 10000 */
  timeoutMs?: number;
  /** Live tails open at once; more are refused with 429. @default 16 */
  maxTails?: number;
  /** Events a live tail sends at most each second; the rest are counted in a `more` message. @default 50 */
  tailRate?: number;
  /** How often the store is asked for new events by a live tail. @default 1000 */
  tailPollMs?: number;
  /** Seconds between a live tail's heartbeat comments. @default 15 */
  heartbeatS?: number;
}

/** A plain Node handler: Express middleware, or what Koa and Fastify hand their raw request to. */
export type ConsoleHandler = ((
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void) & {
  /** Ends every live tail (their streams close) and forgets every session. */
  close(): void;
};
