// What the detector tests share: the built-ins with all but one turned off, and the engine in a real
// auditor (a memory sink and a detectors() sink, a test clock) with helpers to record events at set
// times and read the decisions back, as every sink receives them. The detect-redis tests import it
// by relative path.
import { createHmac } from 'node:crypto';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
import { detectors, type BuiltInsOptions, type DetectorsOptions } from '../src/index.js';
import { BUILT_IN_NAMES } from '../src/options.js';

export type BuiltInName = (typeof BUILT_IN_NAMES)[number];

/** A Monday 09:00 UTC: where a harness's clock starts unless told otherwise. */
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/**
 * Every built-in off but `name` (tuned by `tune`): derived from the options' own list, so a new
 * built-in needs no test edit.
 */
export function only(name: BuiltInName, tune: object = {}): { builtIns: BuiltInsOptions } {
  return {
    builtIns: Object.fromEntries(
      BUILT_IN_NAMES.map((n) => [n, n === name ? tune : false]),
    ) as BuiltInsOptions,
  };
}

/** The fingerprint key a harness's auditor has unless told otherwise. */
export const KEY = 'detect-test-fingerprint-key-5b1e9c7a3d2f';

/**
 * Sign-in events as the tests record them, under fingerprint key `key`: `hash` is the keyed
 * fingerprint core gives an account or a token; a failure names its account only by that hash.
 */
export function signIns(key = KEY) {
  const hash = (value: string) =>
    createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');
  return {
    hash,
    failure: (account: string, ip: string): ManualEvent => ({
      type: 'authn.login.failure',
      reason: 'invalid_credentials',
      observer: { role: 'op' },
      user: { hash: hash(account) },
      source: { ip },
    }),
    success: (account: string, ip: string): ManualEvent => ({
      type: 'authn.login.success',
      observer: { role: 'op' },
      user: { id: account },
      source: { ip },
    }),
  };
}

export interface HarnessOptions {
  /** What the detectors() sink is given, e.g. `only('brute_force')`. */
  detect?: DetectorsOptions;
  /** @default 'detect-test' */
  service?: string;
  /** The auditor's fingerprint key. @default KEY */
  key?: string;
  /** The clock's first time. @default T0 */
  start?: number;
}

/** An auditor with a memory sink and a detectors() sink; its clock is set by `at` (or `fail`'s time). */
export function harness(options: HarnessOptions = {}) {
  const key = options.key ?? KEY;
  let now = options.start ?? T0;
  const memory = memorySink();
  const sink = detectors(options.detect);
  const auditor = createAuditor({
    service: options.service ?? 'detect-test',
    sinks: [memory, sink],
    keys: { fingerprint: key },
    clock: () => now,
    delivery: { handleSignals: false },
  });
  const { hash, failure, success } = signIns(key);
  return {
    auditor,
    sink,
    /** Every event the memory sink received so far. */
    events: memory.events,
    hash,
    failure,
    success,
    /** Sets the time of what is recorded next. */
    at(ms: number) {
      now = ms;
    },
    record: (event: ManualEvent): AuditEvent => auditor.record(event),
    /** A failed sign-in for `account` from `ip` at `ms`; the recorded event. */
    fail(ms: number, account: string, ip = '198.51.100.7'): AuditEvent {
      now = ms;
      return auditor.record(failure(account, ip));
    },
    /** Flushes (detections recorded while delivering included), then the decisions so far. */
    async detected(): Promise<AuditEvent[]> {
      await auditor.flush();
      return memory.events.filter((e) => e.outcome === 'detected');
    },
  };
}

export type Harness = ReturnType<typeof harness>;
