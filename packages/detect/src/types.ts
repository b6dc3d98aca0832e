import type { AuditEvent, DetectionSeverity } from '@authtrail/schema';

/**
 * What a detector counts and when it fires, one of seven primitives. Every rule fires once per
 * (detector, key) and episode: it fires when its condition first holds, and stays quiet until the
 * episode clears: its window holds no event of the key any more (count, distinct, consecutive; a
 * consecutive rule's reset clears it too), the bucket has drained empty, the surge's condition has
 * not held for a whole window (surge), or (sequence) each step `a` fires at most once. A steady
 * attack is one detection, not one per event.
 */
export type Rule =
  CountRule | DistinctRule | ConsecutiveRule | SequenceRule | BucketRule | SurgeRule | SilenceRule;

/**
 * Fires when a key that was seen goes quiet: no reading of it for `missed` of its intervals (the
 * `every_s` of its last reading: when the next was due). Silence is the absence of events, so it
 * is checked on the engine's tick, not on an event; it needs a state with `watch` and `silent`
 * (both built-in states have them). It fires once per silence (among all the engines sharing a
 * state, one records it); the silence ends when the key is seen again, and a reading with
 * `reset: true` (a deliberate stop) forgets the key. A key silent for a day is forgotten too.
 */
export interface SilenceRule {
  readonly kind: 'silence';
  readonly missed: number;
}

/** Fires when `threshold` events of a key fall within the last `window_s` seconds. */
export interface CountRule {
  readonly kind: 'count';
  readonly threshold: number;
  readonly window_s: number;
}

/** Fires when `threshold` distinct values (`Reading.value`) of a key fall within `window_s`. */
export interface DistinctRule {
  readonly kind: 'distinct';
  readonly threshold: number;
  readonly window_s: number;
}

/**
 * Fires when `threshold` events of a key come in a row within `window_s`, with no reset between
 * them (a reading with `reset: true`, such as a successful sign-in, starts the count again).
 */
export interface ConsecutiveRule {
  readonly kind: 'consecutive';
  readonly threshold: number;
  readonly window_s: number;
}

/**
 * Fires when step `b` of a key comes within `within_s` seconds after step `a`, once per step `a`.
 * Step `a` is a reading with `step: 'a'`, or, for each detector named in `after`, that detector
 * firing on an event (the engine then asks this detector for the key with `read(event, name)`).
 *
 * With `repeat`, step `a` is not used up: every step `b` within `within_s` of the key's latest
 * step `a` fires (any use of a superseded token is one more detection), its count the events of
 * the sequence so far (2, 3, ...) and its evidence starting at the first step `a`; a step `a` on a
 * key already waiting extends the wait and keeps that evidence.
 */
export interface SequenceRule {
  readonly kind: 'sequence';
  readonly within_s: number;
  readonly after?: readonly string[];
  /** @default false */
  readonly repeat?: boolean;
}

/**
 * A leaky bucket (CrowdSec's scenarios): each event pours one unit, `leak_s` seconds leak one; it
 * fires when an event is poured into a full bucket (more than `capacity`), and is armed again once
 * the bucket has drained empty.
 */
export interface BucketRule {
  readonly kind: 'bucket';
  readonly capacity: number;
  readonly leak_s: number;
}

/**
 * Fires when a key's events within `window_s` reach `threshold` AND `factor` times its rate over
 * the `baseline_s` before that window (scaled to the window's length): a surge against the key's
 * own history. A key without history (no event in the baseline) has a rate of 0: the threshold
 * alone decides. With `distinct` (a share, 0 to 1], it fires only while at least that share of
 * the key's last `threshold` readings (at most 100) carry distinct `value`s: many accounts failing
 * once each, not one account failing many times.
 *
 * Counts are kept in ten buckets per window, so the window moves in steps of a tenth of itself
 * (30 s for 5 min: it spans 4.5 to 5 min), and at most `10 + 10 * baseline_s / window_s` buckets
 * per key. The episode ends once the condition has not held for a whole window (a rate wobbling
 * about the threshold is one detection); a steady surge becomes the next hour's baseline and is
 * not detected again.
 */
export interface SurgeRule {
  readonly kind: 'surge';
  readonly threshold: number;
  readonly window_s: number;
  readonly factor: number;
  readonly baseline_s: number;
  readonly distinct?: number;
}

/** What one event is to a detector: the key it counts under, and what it adds. */
export interface Reading {
  /** What is counted (an account, an IP, both). The engine hashes it before any state sees it. */
  readonly key: string;
  /** `distinct` rules (and `surge` ones with `distinct`): the value counted (an account name); hashed too. */
  readonly value?: string;
  /** `consecutive` rules: this event resets the count (a success) instead of adding to it. */
  readonly reset?: boolean;
  /** `sequence` rules: which step the event is. @default 'b' */
  readonly step?: 'a' | 'b';
  /**
   * `silence` rules: seconds until the key's next reading is due (a heartbeat's interval); a
   * reading without it is not counted. `reset: true` says none is due any more.
   */
  readonly every_s?: number;
}

/** Which of the evidence's fields a detection copies: its subject. */
export type SubjectField = 'user' | 'client' | 'ip' | 'token';

/**
 * A detector: a rule (or several, any of which fires) over the events it reads. `read` is called
 * for every event an auditor delivers, except `*.detected` ones: it must be quick and pure (no I/O).
 * @example
 * // Five refused consents from one IP within a minute.
 * const consentStorm: Detector = {
 *   name: 'consent_storm',
 *   type: 'oauth.consent_storm.detected',
 *   severity: 'low',
 *   rule: { kind: 'count', threshold: 5, window_s: 60 },
 *   subject: ['ip'],
 *   read: (e) =>
 *     e.type === 'oauth.consent_grant.failure' && e.source?.ip ? { key: e.source.ip } : undefined,
 * };
 */
export interface Detector {
  /** `[a-z][a-z0-9_]{0,63}`: the decision's `detection.detector`. */
  readonly name: string;
  /** The type of the event it records when it fires: `<category>.<action>.detected`. */
  readonly type: string;
  readonly severity: DetectionSeverity;
  readonly rule: Rule | readonly Rule[];
  /**
   * The fields of the evidence's last event the decision copies.
   * @default ['user', 'client', 'ip']
   */
  readonly subject?: readonly SubjectField[];
  /**
   * What `event` is to this detector, or undefined when it does not count. `after` is set when the
   * engine asks for step `a` of a sequence rule: the name of the detector that may fire on `event`.
   */
  read(event: AuditEvent, after?: string): Reading | readonly Reading[] | undefined;
}

/**
 * One update of a detector's state: the primitive `rule` applied to `key` for the event `id` at
 * `time` (ms). Keys and values are keyed hashes already.
 */
export interface StateOp {
  /** The table of one detector's rule (`<detector>#<rule index>`): keys of two rules never mix. */
  readonly slot: string;
  /** Any rule but `silence`, whose readings go to {@link DetectorState.watch} instead. */
  readonly rule: Exclude<Rule, SilenceRule>;
  readonly key: string;
  readonly time: number;
  readonly id: string;
  readonly value?: string;
  readonly reset?: boolean;
  readonly step?: 'a' | 'b';
  /**
   * Applies the op only if the op at this index of the same call fired (a sequence's step `a`
   * taken from another detector's decision); its evidence then starts where that one's did.
   */
  readonly when?: number;
}

/** What an op did: whether its rule fired, and with what evidence. */
export interface StateResult {
  readonly fired: boolean;
  /** Events (or distinct values) counted after this op. */
  readonly count: number;
  /** When fired: the first event of the evidence, its id and time (ms). */
  readonly first?: string;
  readonly firstTime?: number;
  /**
   * When fired by a rule whose threshold depends on the state (`surge`): the count it needed then,
   * the larger of `threshold` and `factor` times the baseline's rate.
   */
  readonly threshold?: number;
}

/**
 * A change of where a shared {@link DetectorState} counts: `local` when batches start being
 * counted in this process (`reason`: `store_unavailable` when the store failed or is not
 * connected, `store_timeout` when it answered too late), `shared` when a batch is applied on the
 * store again. No message: it could name the server.
 */
export type StateChange =
  | { readonly state: 'local'; readonly reason: 'store_unavailable' | 'store_timeout' }
  | { readonly state: 'shared' };

/**
 * Where the detectors keep their counts: in memory ({@link memoryState}) for one process, or a
 * shared store for many. `apply` gets every op of one delivered batch, in order, and applies them
 * as one atomic step (one round trip for a remote store); it may answer a promise.
 */
export interface DetectorState {
  apply(ops: readonly StateOp[]): readonly StateResult[] | Promise<readonly StateResult[]>;
  /** Keys held now, and keys evicted to keep within the bound, summed over the slots. */
  stats(): { keys: number; evicted: number };
  close?(): Promise<void>;
  /**
   * A shared state that can fall back to counting in this process (its store down or slow) tells
   * each engine using it through `listener`: once when it falls back, once when it is shared
   * again. The engine records each change as an audit event. Called by the engine at attach; what
   * it returns stops the telling (the engine calls it at close).
   */
  listen?(listener: (change: StateChange) => void): void | (() => void);
  /**
   * `silence` rules: records each sighting as its key's latest (a late one never moves a key
   * back; `reset` forgets the key). Never throws: a shared state falls back as `apply` does.
   * A state without `watch` and `silent` runs no silence rule.
   */
  watch?(sightings: readonly Sighting[]): void | Promise<void>;
  /**
   * `silence` rules, on the engine's tick: the keys of `slots` silent at `now` (ms), each handed
   * out once per silence (to one of the engines sharing the state), and which of `held` (silences
   * this engine reported) are over: the key was seen again, stopped on purpose, or was forgotten.
   */
  silent?(
    slots: readonly string[],
    now: number,
    held: readonly Held[],
  ): Silences | Promise<Silences>;
  /**
   * Enforcement (`detectors({ enforce })`) over many instances: `heard` is told of each lock an
   * engine sharing this state set (at once when it is set, and those still running when this
   * instance connects); the answer's `share` tells the others of this instance's. Neither blocks
   * nor throws: a store that is down only leaves each instance with the locks it set. A state
   * without it keeps each instance's locks to itself. Called by the engine at attach.
   */
  shareLocks?(heard: (lock: SharedLock) => void): LockSharing;
}

/** A lock as instances share it: keyed hashes and a time, nothing raw. */
export interface SharedLock {
  /** The lock's key: the `brute_force` detection's (a keyed hash of the account and the IP). */
  readonly key: string;
  /** The keyed hash of the IP. */
  readonly ip: string;
  /** When it ends (ms since the epoch). */
  readonly until: number;
}

/** What {@link DetectorState.shareLocks} answers. */
export interface LockSharing {
  share(lock: SharedLock): void;
  close?(): Promise<void>;
}

/** A sighting of a `silence` rule's key: an event that says it is alive, and when it speaks next. */
export interface Sighting {
  readonly slot: string;
  /** A keyed hash, as for every op. */
  readonly key: string;
  readonly time: number;
  readonly id: string;
  /** Seconds after `time` at which the key is silent: `missed` times the reading's `every_s`. */
  readonly quiet_s: number;
  /** Stopped on purpose: forget the key. */
  readonly reset?: boolean;
}

/** A silence an engine reported and holds (its alert stays firing until it is over). */
export interface Held {
  readonly slot: string;
  readonly key: string;
}

/** What {@link DetectorState.silent} answers. */
export interface Silences {
  /** Keys that went silent, each with its last sighting: the detection's evidence. */
  readonly silent: readonly Silence[];
  /** Of the silences asked about, those that are over. */
  readonly over: readonly Held[];
}

/** A key gone silent, and its last sighting. */
export interface Silence {
  readonly slot: string;
  readonly key: string;
  /** The last sighting's event id and time (ms), and its quiet time. */
  readonly id: string;
  readonly time: number;
  readonly quiet_s: number;
}
