import type { EventType, Outcome, Reason } from './taxonomy.js';

/**
 * How sinks write events: `native` (authtrail's schema 1, the default), `ecs` (Elastic Common
 * Schema 8.x) or `ocsf` (Open Cybersecurity Schema Framework). `formats/` implements each one.
 */
export type EventFormat = 'native' | 'ecs' | 'ocsf';

/**
 * What the sinks for people (`stdoutSink`, `memorySink`) take: an {@link EventFormat}, or `pretty`,
 * one readable line per event for a developer's terminal. Not an `EventFormat`: a sink whose
 * output a machine reads does not compile with it.
 */
export type LineFormat = EventFormat | 'pretty';

/** Which side wrote the event: the app using an OP, the provider itself, or an API. */
export type ObserverRole = 'rp' | 'op' | 'rs';

/** Schema 1 of the audit event. Every field but the first six is present only when known. */
export interface AuditEvent {
  schema: 1;
  /** UUIDv7: sortable by time. */
  id: string;
  /** ISO-8601 UTC with milliseconds: when the request arrived (or the manual event was recorded). */
  time: string;
  type: EventType | (string & {});
  outcome: Outcome;
  observer: { role: ObserverRole; service: string; instance: string; adapter: string };
  reason?: Reason | (string & {});
  error?: { code: string };
  user?: { id?: string; hash?: string; name?: string; email?: string; roles?: string[] };
  client?: { id: string };
  oauth?: {
    issuer?: string;
    scope?: string[];
    audience?: string[];
    grant_type?: string;
    token?: TokenInfo;
    /**
     * The token the client spent to get `token`: on a relying party's `oauth.token_refresh.success`,
     * the refresh token it presented (a failure has that one in `token`, as the provider's has).
     */
    presented?: TokenInfo;
  };
  session?: { id: string };
  flow?: { id: string };
  http?: {
    request_id?: string;
    method: string;
    /** The matched route template, mount prefix included, when the framework knows one. */
    route?: string;
    /** The route template when known; else the path received, credential-like segments redacted. */
    path: string;
    query?: string;
    status: number;
    duration_ms: number;
  };
  source?: { ip?: string; forwarded?: string[]; user_agent?: string };
  trace?: { id: string; span_id: string };
  /**
   * `audit.delivery.failure` only: the sink that lost events and how many (`reason:
   * events_dropped`), or, with `reason: spill_unreadable`, how many spilled records could not be
   * read back and the quarantine file they were moved to (`dropped` is then 0).
   */
  delivery?: { sink: string; dropped: number; quarantined?: number; quarantine_file?: string };
  /** Position in the auditor's hash chain (from 1), when `keys.chain` is set. */
  seq?: number;
  /** Hash chain link: chain id, previous event's hash (empty for the first), this event's hash. */
  chain?: ChainLink;
}

/** The `chain` field of an event written with `keys.chain`. */
export interface ChainLink {
  /** The chain: one per auditor and process run. */
  id: string;
  /** The previous event's hash; empty for the first event of a chain. */
  prev: string;
  /** Id of the chain key that signed the event (absent in logs written before key ids). */
  kid?: string;
  /**
   * Sealed chains only (`keys.chain: { sealing }`): the epoch whose key signed the event. `kid`
   * then names the seal, and `authtrail verify --seed-file` derives that epoch's key.
   */
  epoch?: number;
  /**
   * Sealed chains only, on the first event after an epoch ended: a MAC under the ended epoch's key
   * over `prev`, made before that key was erased. Nobody can make it later, so the events before it
   * cannot be sealed again in a later epoch.
   */
  seal?: string;
  /** First event of a chain only: which run of the log this is, and the run before it. */
  run?: ChainRun;
  /** A rotation checkpoint: names the head (`seq`, `prev`) without taking a place in the chain. */
  anchor?: true;
  /** HMAC-SHA-256 under the chain key over the event without this field, base64url. */
  hash: string;
}

/**
 * How a chain links to the run before it. Runs of one lineage (one state slot beside a file
 * sink's log: one process, or one auditor, at a time) are numbered from 1.
 */
export interface ChainRun {
  /** The lineage: the id of its first chain. */
  lineage: string;
  /** This run's number in the lineage. */
  n: number;
  /** The head of the previous run (absent for run 1): its chain id, last seq and last hash. */
  after?: { id: string; seq: number; hash: string };
}

export interface TokenInfo {
  type: 'access_token' | 'id_token' | 'refresh_token' | (string & {});
  /** Keyed HMAC-SHA-256 of the token, base64url, 128 bits. Never the token. */
  fingerprint: string;
  expires_at?: string;
  /** True only when the app's own verifier (or authtrail's) checked the signature. */
  verified: boolean;
  alg?: string;
  /** Introspection only: whether the provider said the token was active. */
  active?: boolean;
}

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

/** The fields of an event the auditor sets itself, never taken from a manual event. */
export type ManualEventOwnFields =
  'schema' | 'id' | 'time' | 'outcome' | 'seq' | 'chain' | 'delivery';

/**
 * A manual event: `type` is required. What the auditor sets itself is not part of it: `schema`,
 * `id`, `time` (when it is recorded), `outcome` (the type's last word), `observer`, and the
 * pipeline's `seq`, `chain` and `delivery`. `record()` refuses an event that carries any of them
 * (`ERR_AUTHTRAIL_INVALID_EVENT`, naming the fields) rather than drop them quietly.
 */
export type ManualEvent = Partial<Omit<AuditEvent, ManualEventOwnFields | 'observer' | 'http'>> & {
  type: AuditEvent['type'];
  /** Recorded through `req.audit` / `ctx.audit` / `request.audit`, the request fills what is left out. */
  http?: Partial<NonNullable<AuditEvent['http']>>;
  /** Which side records it. @default 'rs' */
  observer?: { role?: ObserverRole };
};
