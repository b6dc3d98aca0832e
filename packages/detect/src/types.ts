import type { AuditEvent, DetectionSeverity } from '@authtrail/schema';

/**
 * What a detector counts and when it fires, one of five primitives. Every rule fires once per
 * (detector, key) and episode: it fires when its condition first holds, and stays quiet until the
 * episode clears: its window holds no event of the key any more (count, distinct, consecutive; a
 * consecutive rule's reset clears it too), the bucket has drained empty, or (sequence) each step
 * `a` fires at most once. A steady attack is one detection, not one per event.
 */
export type Rule = CountRule | DistinctRule | ConsecutiveRule | SequenceRule | BucketRule;

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
 */
export interface SequenceRule {
  readonly kind: 'sequence';
  readonly within_s: number;
  readonly after?: readonly string[];
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

/** What one event is to a detector: the key it counts under, and what it adds. */
export interface Reading {
  /** What is counted (an account, an IP, both). The engine hashes it before any state sees it. */
  readonly key: string;
  /** `distinct` rules: the value counted (an account name); hashed too. */
  readonly value?: string;
  /** `consecutive` rules: this event resets the count (a success) instead of adding to it. */
  readonly reset?: boolean;
  /** `sequence` rules: which step the event is. @default 'b' */
  readonly step?: 'a' | 'b';
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
  readonly rule: Rule;
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
}

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
}
