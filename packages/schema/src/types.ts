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
   * `*.detected` only: which detector fired, on what (a keyed hash, never the value counted), how
   * urgent it is, the count against its threshold, and the ids of the first and last events of
   * its evidence. The subject (`user`, `client`, `source.ip`, a token's fingerprint) is in the
   * event's own fields, copied from the evidence.
   */
  detection?: DetectionInfo;
  /**
   * `authn.lockout.success` and `authn.lockout_end.success` only: the lock (its key: the
   * `brute_force` detection's key, a keyed hash of the account and the IP), when it ends, and its
   * length in seconds.
   */
  lockout?: LockoutInfo;
  /**
   * `audit.delivery.failure` only: the sink that lost events and how many (`reason:
   * events_dropped`), or, with `reason: spill_unreadable`, how many spilled records could not be
   * read back and the quarantine file they were moved to (`dropped` is then 0).
   */
  delivery?: { sink: string; dropped: number; quarantined?: number; quarantine_file?: string };
  /** `audit.retention.*` only: the store's retention policy and, on success, what it dropped. */
  retention?: RetentionInfo;
  /** `audit.heartbeat.success` only: when the next heartbeat is due, and what came since the last. */
  heartbeat?: HeartbeatInfo;
  /** `audit.access.*` only: what a reader of the trail (the console) asked for, and got. */
  access?: AccessInfo;
  /** Position in the auditor's hash chain (from 1), when `keys.chain` is set. */
  seq?: number;
  /** Hash chain link: chain id, previous event's hash (empty for the first), this event's hash. */
  chain?: ChainLink;
}

/**
 * The `access` field of `audit.access.*`: which view of the console was asked (`search`,
 * `overview`, `event`, `trail`, `tail`, `export`, `fields`, `me`, `login`, `logout`), the query
 * text with every value that looks like a credential replaced by `[redacted]`, the id asked for,
 * the time range, and how many events the answer held.
 */
export interface AccessInfo {
  view: string;
  query?: string;
  /** The event, flow, token fingerprint or session id asked for (`event`, `trail`). */
  target?: string;
  from?: string;
  to?: string;
  results?: number;
}

/** The `lockout` field of a lockout's events. */
export interface LockoutInfo {
  /** The lock: a keyed hash, the key of the `brute_force` detection that set it. */
  key: string;
  /** When it ends (ISO-8601). */
  until: string;
  /** Its length in seconds. */
  lockout_s: number;
}

/** How urgent a detection is, as alert tools grade it: `low`, `medium`, `high`, `critical`. */
export type DetectionSeverity = 'low' | 'medium' | 'high' | 'critical';

/**
 * The `detection` field of a `*.detected` event: a detector's decision and its evidence.
 * `record()` refuses one that breaks any rule below (`ERR_AUTHTRAIL_INVALID_EVENT`), or that has
 * other fields.
 */
export interface DetectionInfo {
  /** The detector that fired: `brute_force`, `password_spraying`, or your own's name; `[a-z][a-z0-9_]{0,63}`. */
  detector: string;
  /**
   * What was counted (an account, an IP, an account and an IP, a token), as a keyed HMAC under the
   * auditor's fingerprint key, base64url (16 to 128 characters): never the value itself.
   */
  key: string;
  severity: DetectionSeverity;
  /** Events (or distinct values, for a distinct count) counted when it fired; an integer. */
  count: number;
  /** The count it fires at; an integer. */
  threshold: number;
  /** The window the count is in, in whole seconds (1 s to 366 days), when the rule has one. */
  window_s?: number;
  /** Id of the first event of the evidence. */
  first: string;
  /** Id of the last event of the evidence: the one that made it fire. */
  last: string;
  /** Time of the first event of the evidence (ISO-8601), when the detector kept it. */
  first_time?: string;
}

/**
 * The `retention` field: the policy (`days`) and one dropped day partition (its UTC `day`, `rows`,
 * first and last event time) with the head of each hash chain in it (last `seq` and `hash`), so
 * that the first kept event of each chain can still be checked against what was dropped. A day
 * with more than 100 chains is told in several events (`part` of `parts`).
 */
export interface RetentionInfo {
  days: number;
  partition?: string;
  day?: string;
  rows?: number;
  first?: string;
  last?: string;
  chains?: { id: string; seq: number; hash: string }[];
  part?: number;
  parts?: number;
}

/**
 * The `heartbeat` field: the auditor's `heartbeat` interval (the next one is due that many seconds
 * later, unless `reason` is `close`), this heartbeat's number in the auditor's run (from 1: a gap
 * is a lost heartbeat), and the events recorded and lost (dropped by a sink's queue or after its
 * retries) since the previous heartbeat, this one excluded.
 */
export interface HeartbeatInfo {
  interval_s: number;
  n: number;
  events: number;
  dropped: number;
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

/** The fields of an event the auditor sets itself, never taken from a manual event. */
export type ManualEventOwnFields =
  'schema' | 'id' | 'time' | 'outcome' | 'seq' | 'chain' | 'delivery' | 'heartbeat';

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
