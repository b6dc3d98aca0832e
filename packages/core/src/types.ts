import type { AuditEvent, LineFormat, ManualEvent } from '@authtrail/schema';

// The pipeline's own types: what adapters hand core (request facts), what sinks are given, the
// counters. The event itself (AuditEvent, ManualEvent, TokenInfo ...) is @authtrail/schema's, which
// has no Node types and which a browser can load.

/** Header bag as Node gives it (`req.headers`). Core reads single names from it, never iterates. */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** Claims object as an app's auth layer established it. Read field by field; never copied. */
export type Claims = Readonly<Record<string, unknown>>;

/**
 * What an adapter knows about one finished request, in framework-neutral terms. Adapters fill it
 * with references (no copies); core reads only the fields it needs.
 */
export interface RequestFacts {
  /** `Date.now()` when the request arrived. */
  startTime: number;
  durationMs: number;
  method: string;
  /** Full URL path as received, query string included (`req.originalUrl`, `ctx.originalUrl`). */
  url: string;
  /**
   * Matched route template with its mount prefix, e.g. `/api/items/:id`, when the framework knows
   * it. A prefix may hold values (Express's `req.baseUrl`): core redacts it like a path.
   */
  route?: string;
  status: number;
  /** The client went away before the response was complete. */
  aborted?: boolean;
  headers: HeaderBag;
  /** The response, for headers by name (Node's `ServerResponse`, Fastify's reply ...). Read only on auth events. */
  response?: { getHeader(name: string): unknown };
  ip?: string;
  /** Parsed request body, when the app (or its auth library) parsed one. Read only on auth routes. */
  body?: unknown;
  /** The error the app or its auth library raised for this request, if any. */
  error?: unknown;
  /**
   * Identity the app established: verified claims (express-openid-connect's `req.oidc.user`), or
   * its session's user (Passport's `req.user`, `ctx.state.user`): claims, or a profile with `id`.
   */
  user?: Claims;
  /** ID token claims of the session (express-openid-connect's `req.oidc.idTokenClaims`). */
  idTokenClaims?: Claims;
  /** Claims and header of a bearer token the app's own verifier accepted (`req.auth`). */
  tokenClaims?: Claims;
  tokenHeader?: Claims;
  /** oidc-provider's `ctx.oidc` (route, client, params, entities, result), auditing an OP. */
  oidc?: unknown;
  /** The response body as the app set it (Koa's `ctx.body`), auditing an OP. Tokens in it are only fingerprinted. */
  responseBody?: unknown;
  /**
   * On a relying-party callback: true when it found its login transaction (express-openid-connect
   * sets `req.openidState`), false when it did not, undefined when unknown.
   */
  transactionFound?: boolean;
  /**
   * What the callback's login transaction, as the app's session held it when loaded, names the flow
   * by: its nonce, else its PKCE challenge (the SHA-256 of the verifier). Core keeps its keyed hash.
   */
  flowKey?: string;
  /**
   * A browser session layer is visible on the request: `'user'` when it tells who is signed in
   * (Passport, express-openid-connect), `'store'` when only a session store is (express-session,
   * koa-session), which says nothing of who signed in.
   */
  session?: 'user' | 'store';
  /** The framework's own request (`req`, `ctx`, `request`): what the `user` option is given. */
  request?: unknown;
}

/**
 * What route handlers get as `req.audit` / `ctx.audit` / `request.audit`: they record the events
 * only the app knows, and can neither close the auditor nor read its keys.
 */
export interface AuditRecorder {
  /** Records a manual event now. Throws `ERR_AUTHTRAIL_INVALID_EVENT` for a type of the wrong shape, or fields the auditor sets (see {@link ManualEvent}). */
  record(event: ManualEvent): AuditEvent;
}

/**
 * What a relying party's own refresh-token grant showed, as an integration saw it (internal: the
 * refresh recorder's input, `auditRefresh`'s and the express-openid-connect hook's). The tokens are
 * read once, to fingerprint them; nothing keeps them.
 */
export interface RefreshFacts {
  /** `Date.now()` when the refresh began: the event's time. */
  startTime: number;
  /** The session's ID token claims before the refresh: who, which client, provider session and login flow. */
  idTokenClaims?: Claims;
  /** The refresh token presented. Only its fingerprint is kept. */
  refreshToken?: unknown;
  /** True when the refresh rejected (`error` then says why). */
  failed: boolean;
  /** The answer of a successful refresh: only the access token's fingerprint and lifetime are kept. */
  response?: unknown;
  /** What the refresh rejected with: an OAuth error (`error`, `status`) or anything else. */
  error?: unknown;
  /** The request the app refreshed in: the user agent and `traceparent` are read by name. */
  headers?: HeaderBag;
  ip?: string;
}

/** A batch handed to sinks: events plus their JSON-lines encoding, computed once per format. */
export interface Batch {
  readonly events: readonly AuditEvent[];
  /**
   * JSON lines, one event a line, each ending in `\n`, in the given format. Computed on the first
   * call for a format, then reused by every sink asking for the same format.
   * @default format 'native'
   */
  lines(format?: LineFormat): string;
}

/** What an auditor offers the sinks it writes to (see {@link Sink.attach}); one host per sink. */
export interface SinkHost {
  /**
   * Sends an `audit.checkpoint.success` event with `reason` to this sink only, after what was
   * recorded so far: it names the chain's head without taking a `seq`, so other sinks see no gap.
   * False when the auditor keeps no hash chain (or is closed): there is nothing to anchor.
   */
  checkpoint(reason: 'rotation'): boolean;
  /**
   * The sink wrote these events (as durably as it writes). The auditor keeps its chain's head in the
   * sink's `chainState` from them, so that its next run links to the last event written.
   */
  written(events: readonly AuditEvent[]): void;
  /**
   * Records an event of the sink's own making (a detector's finding), as the auditor's `record()`
   * does: it goes to every sink, this one included, so a sink never records again what it
   * recorded. Throws `ERR_AUTHTRAIL_CLOSED` once the auditor is closed.
   */
  record(event: ManualEvent): AuditEvent;
  /**
   * The keyed hash the auditor gives token fingerprints (HMAC-SHA-256 under `keys.fingerprint`,
   * 128 bits, base64url) of `value`: what a detector counts by (an account, an IP) is kept and
   * recorded only in this form, and matches the `user.hash` and fingerprints of the events.
   */
  fingerprint(value: string): string;
  /**
   * Installs `guard` on the auditor's sign-in routes (option `signIn`): from then on, every request
   * there asks it, before the app reads the password, whether to refuse the attempt with 429.
   * One guard per auditor. Throws `ERR_AUTHTRAIL_INVALID_OPTIONS` when the auditor has no `signIn`
   * routes (there is nothing to guard) or already has a guard.
   */
  guardSignIn(guard: SignInGuard): void;
}

/**
 * A sink's check of the sign-in attempts (enforcement), asked by core on the request path: it must
 * answer from local memory, at once, and never throw.
 */
export interface SignInGuard {
  /**
   * The seconds left on the longest lock of any account for this client address, 0 when there is
   * none: only then is the account read from the body, so other requests cost one lookup.
   */
  watches(ip: string): number;
  /**
   * Seconds left on the lock of this account for this address, 0 when there is none. `user` is the
   * account as the attempt's `authn.login.failure` would name it (`user.id` or `user.hash`).
   */
  lockedFor(user: { readonly id?: string; readonly hash?: string }, ip: string): number;
}

/** Where events go. `write` may return a promise; the queue waits for it before the next batch. */
export interface Sink {
  readonly name: string;
  /** Called once by each auditor that writes to this sink. */
  attach?(host: SinkHost): void;
  /**
   * Where an auditor with `keys.chain` keeps the head of its run (files `<chainState>-<slot>.json`
   * and `.lock`), so that the next run links to it. The first sink that has one is used.
   */
  readonly chainState?: string;
  write(batch: Batch): void | Promise<void>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** Counters of the delivery pipeline. */
export interface AuditorStats extends SinkStats {
  /** Events recorded (every sink gets each one, or counts it dropped). */
  enqueued: number;
  /** Requests whose auditing threw inside authtrail (the response was not affected). */
  errors: number;
  /** Events the `policy` skipped: never queued, chained or delivered. */
  skipped: number;
  /** Of those, how many each rule skipped, by its index in `policy` (0 for `'record'` rules). */
  skippedByRule: number[];
  /** Events waiting now: not yet handed out, plus the longest sink backlog (memory and spill file). */
  queued: number;
  /** The counters of each sink, by name. */
  sinks: Record<string, SinkStats>;
}

/** Delivery counters; in {@link AuditorStats} they are summed over the sinks. */
export interface SinkStats {
  /** Events the sink's queue accepted (into memory or its spill file). */
  enqueued: number;
  /** Events the sink accepted. */
  delivered: number;
  /** Events lost: the queue was full under `drop`, or every retry of their write failed. */
  dropped: number;
  /** Events sent again after a failed write. */
  retried: number;
  /** Events written to the spill file. */
  spilled: number;
  /** Sink writes that threw or rejected. */
  failed: number;
  /**
   * Spilled records that could not be read back (torn by a crash, not an event, over the 4 MiB
   * record cap): moved to the quarantine file beside the spill file, never delivered.
   */
  quarantined: number;
}
