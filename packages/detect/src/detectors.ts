import {
  AuthtrailError,
  type AuditEvent,
  type Batch,
  type ManualEvent,
  type Sink,
  type SinkHost,
} from '@authtrail/core/sink';
import { EventTypes as T } from '@authtrail/schema';
import { alertFanout, type AlertStats } from './alerts.js';
import { builtInDetectors } from './built-ins.js';
import { compact } from './internal/compact.js';
import { lockTable, type EnforceStats } from './lockouts.js';
import { silenceWatch, type SilenceSlot, type SilenceWatch } from './internal/silences.js';
import { resolveDetectors, type DetectorsOptions } from './options.js';
import type {
  Detector,
  Reading,
  Rule,
  StateChange,
  StateOp,
  StateResult,
  SubjectField,
} from './types.js';

/** Counters of a {@link detectors} sink. */
export interface DetectorsStats {
  /** Events read (every delivered event but `*.detected` ones). */
  events: number;
  /** Decisions recorded (`*.detected` events). */
  detections: number;
  /** Decisions the auditor refused to record (it was closed, or its checks refused the event). */
  lost: number;
  /** Calls of a detector's `read` that threw: that event was skipped for that detector only. */
  failed: number;
  /** Keys the state holds now, and keys it evicted to stay within its bound. */
  keys: number;
  evicted: number;
  /** The alert fan-out's counters, when option `alerts` is set. */
  alerts?: AlertStats;
  /** Enforcement's locks, when option `enforce` is set. */
  enforce?: EnforceStats;
}

/** The sink {@link detectors} returns: a sink with its own counters. */
export interface DetectorsSink extends Sink {
  stats(): DetectorsStats;
}

/** A detector as the engine runs it: its rules, their state slots, who follows its decisions. */
interface Running {
  readonly d: Detector;
  readonly rules: readonly Rule[];
  readonly slots: readonly string[];
  readonly subject: readonly SubjectField[];
  /** Sequence detectors whose step `a` is this one firing. */
  readonly followers: Running[];
}

/** What an op was for, to record its decision. */
interface Origin {
  readonly r: Running;
  readonly rule: StateOp['rule'];
  readonly event: AuditEvent;
}

const NO_READINGS: readonly Reading[] = [];
const DEFAULT_SUBJECT: readonly SubjectField[] = ['user', 'client', 'ip'];

/**
 * The detector engine, as a sink: add it to an auditor's `sinks` and every event the auditor
 * records is read by every detector, off the response path (the sink's own bounded lane and
 * batches, as for any sink). Each decision is recorded through the auditor as a `*.detected` event
 * with a `detection` field, so it is chained and delivered to every sink like any other event.
 * Detectors never read `*.detected` events: a decision cannot feed another. What is counted is
 * kept only as a keyed hash under the auditor's fingerprint key.
 *
 * Without options every built-in detector runs, with in-memory state; leave the sink out to run
 * none. One auditor per sink.
 * @example
 * import { createAuditor, fileSink } from '@authtrail/core';
 * import { detectors } from '@authtrail/detect';
 *
 * const auditor = createAuditor({
 *   sinks: [fileSink('audit.jsonl'), detectors({ builtIns: { brute_force: { threshold: 5 } } })],
 * });
 */
export function detectors(options?: DetectorsOptions): DetectorsSink {
  const o = resolveDetectors(options);
  const state = o.state;
  let host: SinkHost | undefined;
  // Stops the shared state telling this engine of its fallbacks, at close.
  let unlisten: (() => void) | undefined;
  let running: Running[] = [];
  let hash: (value: string) => string = (value) => value;
  const counts = { events: 0, detections: 0, lost: 0, failed: 0 };
  const alerts = o.alerts && alertFanout(o.alerts);
  let locks: ReturnType<typeof lockTable> | undefined;
  /** The `silence` rules' sightings and tick, when a detector has one and the state can watch. */
  let silences: SilenceWatch | undefined;
  // The role of the events this engine reads: a silence is recorded by no event of its own.
  let role: AuditEvent['observer']['role'] = 'rs';

  /** A detector's readings of `event`, never throwing: a broken custom detector skips the event. */
  function read(r: Running, event: AuditEvent, after?: string): readonly Reading[] {
    try {
      const got = r.d.read(event, after);
      if (got === undefined) return NO_READINGS;
      return Array.isArray(got) ? got : [got as Reading];
    } catch {
      counts.failed++;
      return NO_READINGS;
    }
  }

  function decide(origin: Origin, key: string, result: StateResult): void {
    const { r, rule, event } = origin;
    const input: ManualEvent = {
      type: r.d.type,
      observer: { role: event.observer.role },
      detection: {
        detector: r.d.name,
        key,
        severity: r.d.severity,
        count: result.count,
        // A surge's threshold depends on its baseline: the count it needed when it fired.
        threshold: result.threshold ?? thresholdOf(rule),
        window_s: windowOf(rule),
        first: result.first ?? event.id,
        last: event.id,
        first_time:
          result.firstTime === undefined ? undefined : new Date(result.firstTime).toISOString(),
      },
    };
    copySubject(input, event, r.subject);
    try {
      const recorded = host!.record(input);
      counts.detections++;
      // Enforcement locks the account for the IP that brute-forced it, from now on.
      if (locks && r.d.name === 'brute_force') locks.lock(key, recorded);
      // Only grouped here: delivery runs on its own, never awaited by this batch.
      alerts?.add(recorded);
    } catch {
      // Closed (ERR_AUTHTRAIL_CLOSED), or refused (an event id that is not a UUID, from a test
      // auditor's `ids`): counted, never thrown into the delivery queue, which would retry the batch.
      counts.lost++;
    }
  }

  /**
   * The state fell back to counting in this process, or is shared again: recorded in the trail,
   * once per change (the state says each once), as the auditor records its own delivery losses.
   * Never the store's message or address: a URL may hold a password.
   */
  function stateChanged(change: StateChange): void {
    const input: ManualEvent =
      change.state === 'local'
        ? {
            type: T.DETECTION_STATE_FAILURE,
            observer: { role },
            reason: change.reason,
            error: { code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' },
          }
        : { type: T.DETECTION_STATE_SUCCESS, observer: { role } };
    try {
      host?.record(input);
    } catch {
      counts.lost++;
    }
  }

  return {
    name: 'detectors',
    attach(h) {
      if (host)
        throw new AuthtrailError(
          'ERR_AUTHTRAIL_INVALID_OPTIONS',
          'authtrail: a detectors() sink was given to a second auditor; create one per auditor ' +
            '(to share counts between them, give both the same `state`)',
        );
      host = h;
      hash = remembered((value) => h.fingerprint(value));
      unlisten = state.listen?.(stateChanged) ?? undefined;
      if (o.enforce) {
        locks = lockTable(o.enforce, h, state);
        h.guardSignIn(locks.guard);
      }
      running = [...builtInDetectors(o.builtIns, hash), ...o.custom].map((d) => {
        const rules = Array.isArray(d.rule) ? (d.rule as readonly Rule[]) : [d.rule as Rule];
        return {
          d,
          rules,
          slots: rules.map((_, i) => `${d.name}#${i}`),
          subject: d.subject ?? DEFAULT_SUBJECT,
          followers: [],
        };
      });
      for (const follower of running)
        for (const rule of follower.rules)
          if (rule.kind === 'sequence')
            for (const name of rule.after ?? [])
              running.find((r) => r.d.name === name)?.followers.push(follower);
      const watched = new Map<string, SilenceSlot>();
      for (const r of running)
        r.rules.forEach((rule, i) => {
          if (rule.kind === 'silence') watched.set(r.slots[i]!, { d: r.d, rule });
        });
      const { watch, silent } = state;
      if (watched.size > 0 && watch && silent)
        silences = silenceWatch({ watch: watch.bind(state), silent: silent.bind(state) }, watched, {
          fire(d, detection) {
            try {
              const recorded = host!.record({ type: d.type, observer: { role }, detection });
              counts.detections++;
              // Held: it resolves when the silence is over, however long that takes.
              alerts?.add(recorded, true);
              return true;
            } catch {
              counts.lost++;
              return false;
            }
          },
          over: (d, key) => alerts?.clear(d.name, key),
        });
    },
    async write(batch: Batch) {
      if (!host) return;
      const ops: StateOp[] = [];
      const origins: Origin[] = [];
      for (const event of batch.events) {
        if (event.outcome === 'detected' || event.type.endsWith('.detected')) continue;
        const time = Date.parse(event.time);
        if (!Number.isFinite(time)) continue;
        counts.events++;
        role = event.observer.role;
        for (const r of running) {
          for (const reading of read(r, event)) {
            if (typeof reading?.key !== 'string') continue;
            const key = hash(reading.key);
            const value = reading.value === undefined ? undefined : hash(String(reading.value));
            r.rules.forEach((rule, i) => {
              if (rule.kind === 'silence') {
                const every = reading.every_s;
                const due = typeof every === 'number' && every > 0 && every <= 86_400;
                // Without an interval nobody knows when the key is due: not counted.
                if (!due && !reading.reset) return;
                silences?.see(
                  {
                    slot: r.slots[i]!,
                    key,
                    time,
                    id: event.id,
                    quiet_s: due ? rule.missed * every : 0,
                    ...(reading.reset ? { reset: true } : {}),
                  },
                  due ? every : Infinity,
                );
                return;
              }
              const at = ops.length;
              ops.push({
                slot: r.slots[i]!,
                rule,
                key,
                time,
                id: event.id,
                value,
                ...flags(reading),
              });
              origins.push({ r, rule, event });
              // Step `a` of the sequences that follow this detector: taken only if this op fires.
              for (const f of r.followers)
                for (const a of read(f, event, r.d.name))
                  f.rules.forEach((next, j) => {
                    if (next.kind !== 'sequence' || typeof a?.key !== 'string') return;
                    ops.push({
                      slot: f.slots[j]!,
                      rule: next,
                      key: hash(a.key),
                      time,
                      id: event.id,
                      step: 'a',
                      when: at,
                    });
                    origins.push({ r: f, rule: next, event });
                  });
            });
          }
        }
      }
      await silences?.flush();
      if (ops.length === 0) return;
      // Repeats that cannot change an answer are left out (an API's calls with one token): the
      // state applies fewer ops, with the same decisions and the same state after.
      const few = compact(ops);
      const applied = few ? few.ops : ops;
      // One call per batch: a shared state applies it atomically, in one round trip.
      const results = await state.apply(applied);
      for (let i = 0; i < applied.length; i++)
        if (results[i]?.fired) decide(origins[few ? few.at[i]! : i]!, applied[i]!.key, results[i]!);
    },
    async close() {
      unlisten?.();
      await locks?.close();
      await silences?.close();
      await alerts?.close();
      await state.close?.();
    },
    stats: () => ({
      ...counts,
      ...state.stats(),
      ...(alerts ? { alerts: alerts.stats() } : {}),
      ...(locks ? { enforce: locks.stats() } : {}),
    }),
  };
}

/**
 * `fn` with its last few thousand answers kept: an API sees the same token and IPs request after
 * request, and a keyed hash costs microseconds. Emptied when full, so it stays bounded.
 */
function remembered(fn: (value: string) => string): (value: string) => string {
  let kept = new Map<string, string>();
  return (value) => {
    let answer = kept.get(value);
    if (answer === undefined) {
      if (kept.size >= 4096) kept = new Map();
      answer = fn(value);
      kept.set(value, answer);
    }
    return answer;
  };
}

function flags(reading: Reading): Pick<StateOp, 'reset' | 'step'> {
  if (reading.reset) return { reset: true };
  if (reading.step) return { step: reading.step };
  return {};
}

/** The count a rule fires at: a sequence's two steps, a bucket's first event over its capacity. */
function thresholdOf(rule: StateOp['rule']): number {
  if (rule.kind === 'sequence') return 2;
  if (rule.kind === 'bucket') return rule.capacity + 1;
  return rule.threshold;
}

function windowOf(rule: StateOp['rule']): number | undefined {
  if (rule.kind === 'sequence') return rule.within_s;
  if (rule.kind === 'bucket') return undefined;
  return rule.window_s;
}

/** The decision's subject, from the event that made it fire: only what the detector names. */
function copySubject(input: ManualEvent, e: AuditEvent, subject: readonly SubjectField[]): void {
  for (const field of subject) {
    if (field === 'user' && e.user && (e.user.id || e.user.hash))
      input.user = e.user.id ? { id: e.user.id } : { hash: e.user.hash };
    else if (field === 'client' && e.client) input.client = { id: e.client.id };
    else if (field === 'ip' && e.source?.ip) input.source = { ip: e.source.ip };
    else if (field === 'token' && e.oauth?.token) {
      const { type, fingerprint, verified, expires_at, alg } = e.oauth.token;
      input.oauth = { token: { type, fingerprint, verified, expires_at, alg } };
    }
  }
}
