import { checkOptions, shapeOf, type OptionCheck } from '@authtrail/core/sink';
import { DETECTION_SEVERITIES, isDetectorName, isEventType } from '@authtrail/schema';
import type { DetectionSeverity } from '@authtrail/schema';
import { resolveAlerts, type AlertDestination, type AlertsOptions } from './alerts.js';
import { DEFAULT_ALLOWED_ALGORITHMS } from './built-ins.js';
import { resolveEnforce, type EnforceOptions, type ResolvedEnforce } from './lockouts.js';
import { memoryState } from './memory-state.js';
import type { Detector, DetectorState, Rule } from './types.js';

/** Every built-in's `severity`: how urgent its detections are. */
interface Graded {
  /** @default per detector (see the README's detection table) */
  severity?: DetectionSeverity;
}

/** A built-in's count and window. */
interface Windowed extends Graded {
  threshold?: number;
  window_s?: number;
}

/**
 * The built-in detectors, each on unless set to `false`; an object tunes it. Defaults and their
 * sources are in the README's detection section.
 */
export interface BuiltInsOptions {
  /** @default { threshold: 10, window_s: 900, severity: 'medium' } */
  brute_force?: false | Windowed;
  /** @default { threshold: 30, window_s: 43200, severity: 'high' } */
  distributed_brute_force?: false | Windowed;
  /**
   * `threshold` distinct accounts within `window_s`, or `failures.threshold` failures within
   * `failures.window_s` (`failures: false` turns that second rule off).
   * @default { threshold: 15, window_s: 300, failures: { threshold: 100, window_s: 86400 }, severity: 'high' }
   */
  password_spraying?: false | (Windowed & { failures?: false | Windowed });
  /**
   * A surge of failed sign-ins against the service: `threshold` within `window_s` and `factor`
   * times the rate of the `baseline_s` before (no failures there: the threshold alone decides),
   * while at least a `distinct` share of the latest failures are of distinct accounts.
   * @default { threshold: 50, window_s: 300, factor: 3, baseline_s: 3600, distinct: 0.5, severity: 'high' }
   */
  credential_stuffing?:
    false | (Windowed & { factor?: number; baseline_s?: number; distinct?: number });
  /** @default { within_s: 600, severity: 'critical' } */
  success_after_brute_force?: false | (Graded & { within_s?: number });
  /**
   * `allow`: the algorithms a bearer token may name; `window_s`: quiet time after which it fires
   * again for the same IP.
   * @default { allow: asymmetric JWS algorithms, window_s: 600, severity: 'high' }
   */
  disallowed_algorithm?: false | (Graded & { allow?: string[]; window_s?: number });
  /** @default { capacity: 5, leak_s: 10, severity: 'medium' } */
  invalid_signature_burst?: false | (Graded & { capacity?: number; leak_s?: number });
  /** `window_s`: the longest a token is remembered (its `expires_at` ends it sooner). @default { window_s: 86400, severity: 'high' } */
  access_token_replay?: false | (Graded & { window_s?: number });
  /**
   * `window_s`: how long a rotated or revoked refresh token is remembered (one key per token in
   * the state for that long); a use of it in that time fires, each use again.
   * @default { window_s: 2592000, severity: 'high' }
   */
  refresh_token_reuse?: false | (Graded & { window_s?: number });
  /**
   * `missed`: heartbeat intervals without one after which an instance is silent (each heartbeat
   * says its interval: the auditor's `heartbeat` option).
   * @default { missed: 3, severity: 'high' }
   */
  silent_pipeline?: false | (Graded & { missed?: number });
}

/** Options of {@link detectors}. */
export interface DetectorsOptions {
  /** The built-in detectors: `false` turns them all off; an object tunes or turns off each one. */
  builtIns?: false | BuiltInsOptions;
  /** Your own detectors, run after the built-ins with the same primitives and state. */
  custom?: Detector[];
  /** Where counts are kept. @default memoryState() */
  state?: DetectorState;
  /**
   * Where each detection is sent as an alert, grouped by (detector, key): an array of destinations
   * (`webhookAlert()`, `slackAlert()`, `pagerDutyAlert()`, `alertmanagerAlert()`, `callbackAlert()`),
   * or `{ to, groupWaitMs, … }` to tune the grouping. @default no alerts
   */
  alerts?: AlertDestination[] | AlertsOptions;
  /**
   * Enforcement, off by default: `true` or `{ lockout_s }` locks an account for one IP when
   * `brute_force` fires on it, and the auditor's sign-in form (`signIn`) answers its attempts from
   * that IP with 429 and `Retry-After`, unchecked, until the lock ends. The lock and its end are
   * events (`authn.lockout.success`, `authn.lockout_end.success`). @default off
   */
  enforce?: boolean | EnforceOptions;
}

/** A windowed built-in's defaults. */
interface Defaults {
  readonly severity: DetectionSeverity;
  readonly threshold: number;
  readonly window_s: number;
}

/** The built-ins as configured: `undefined` for one turned off. */
export interface ResolvedBuiltIns {
  brute_force?: { severity: DetectionSeverity; threshold: number; window_s: number };
  distributed_brute_force?: { severity: DetectionSeverity; threshold: number; window_s: number };
  password_spraying?: {
    severity: DetectionSeverity;
    threshold: number;
    window_s: number;
    failures?: { threshold: number; window_s: number };
  };
  credential_stuffing?: {
    severity: DetectionSeverity;
    threshold: number;
    window_s: number;
    factor: number;
    baseline_s: number;
    distinct: number;
  };
  success_after_brute_force?: { severity: DetectionSeverity; within_s: number };
  disallowed_algorithm?: { severity: DetectionSeverity; allow: string[]; window_s: number };
  invalid_signature_burst?: { severity: DetectionSeverity; capacity: number; leak_s: number };
  access_token_replay?: { severity: DetectionSeverity; window_s: number };
  refresh_token_reuse?: { severity: DetectionSeverity; window_s: number };
  silent_pipeline?: { severity: DetectionSeverity; missed: number };
}

export interface ResolvedDetectors {
  readonly builtIns: ResolvedBuiltIns;
  readonly custom: readonly Detector[];
  readonly state: DetectorState;
  readonly alerts: ReturnType<typeof resolveAlerts>;
  readonly enforce: ResolvedEnforce | undefined;
}

/** Every built-in detector's name: the options check against it, and tests derive from it. */
export const BUILT_IN_NAMES = [
  'brute_force',
  'distributed_brute_force',
  'password_spraying',
  'credential_stuffing',
  'success_after_brute_force',
  'disallowed_algorithm',
  'invalid_signature_burst',
  'access_token_replay',
  'refresh_token_reuse',
  'silent_pipeline',
] as const;
const YEAR_S = 366 * 86_400;

/** The one place the defaults live: checks every option and reports every problem at once. */
export function resolveDetectors(options: DetectorsOptions | undefined): ResolvedDetectors {
  const check = checkOptions('detectors', options, '');
  check.known('', check.o, ['builtIns', 'custom', 'state', 'alerts', 'enforce']);
  const given = check.o.builtIns === false ? false : check.object('builtIns', check.o.builtIns);
  const builtIns: ResolvedBuiltIns = {};
  if (given) {
    check.known('builtIns', given, BUILT_IN_NAMES);
    const each = <K extends (typeof BUILT_IN_NAMES)[number]>(name: K) => {
      const value = given[name];
      if (value === false) return undefined;
      return check.object(
        `builtIns.${name}`,
        value,
        'use an options object, or false to turn it off',
      );
    };
    const windowed = (path: string, o: Record<string, unknown>, d: Defaults) => ({
      severity: severity(check, `${path}.severity`, o.severity, d.severity),
      threshold: check.int(`${path}.threshold`, o.threshold, d.threshold, 1, 1_000_000),
      window_s: check.int(`${path}.window_s`, o.window_s, d.window_s, 1, YEAR_S),
    });
    let o = each('brute_force');
    if (o) {
      check.known('builtIns.brute_force', o, ['threshold', 'window_s', 'severity']);
      builtIns.brute_force = windowed('builtIns.brute_force', o, {
        severity: 'medium',
        threshold: 10,
        window_s: 900,
      });
    }
    o = each('distributed_brute_force');
    if (o) {
      check.known('builtIns.distributed_brute_force', o, ['threshold', 'window_s', 'severity']);
      builtIns.distributed_brute_force = windowed('builtIns.distributed_brute_force', o, {
        severity: 'high',
        threshold: 30,
        window_s: 43_200,
      });
    }
    o = each('password_spraying');
    if (o) {
      const path = 'builtIns.password_spraying';
      check.known(path, o, ['threshold', 'window_s', 'failures', 'severity']);
      const failures =
        o.failures === false ? undefined : check.object(`${path}.failures`, o.failures);
      if (failures) check.known(`${path}.failures`, failures, ['threshold', 'window_s']);
      builtIns.password_spraying = {
        ...windowed(path, o, { severity: 'high', threshold: 15, window_s: 300 }),
        failures: failures && {
          threshold: check.int(`${path}.failures.threshold`, failures.threshold, 100, 1, 1_000_000),
          window_s: check.int(`${path}.failures.window_s`, failures.window_s, 86_400, 1, YEAR_S),
        },
      };
    }
    o = each('credential_stuffing');
    if (o) {
      const path = 'builtIns.credential_stuffing';
      check.known(path, o, [
        'threshold',
        'window_s',
        'factor',
        'baseline_s',
        'distinct',
        'severity',
      ]);
      const w = windowed(path, o, { severity: 'high', threshold: 50, window_s: 300 });
      builtIns.credential_stuffing = {
        ...w,
        factor: real(check, `${path}.factor`, o.factor, 3, 1, 1000),
        baseline_s: baseline(check, `${path}.baseline_s`, o.baseline_s, 3600, w.window_s),
        distinct: real(check, `${path}.distinct`, o.distinct, 0.5, 0, 1),
      };
    }
    o = each('success_after_brute_force');
    if (o) {
      const path = 'builtIns.success_after_brute_force';
      check.known(path, o, ['within_s', 'severity']);
      builtIns.success_after_brute_force = {
        severity: severity(check, `${path}.severity`, o.severity, 'critical'),
        within_s: check.int(`${path}.within_s`, o.within_s, 600, 1, YEAR_S),
      };
    }
    o = each('disallowed_algorithm');
    if (o) {
      const path = 'builtIns.disallowed_algorithm';
      check.known(path, o, ['allow', 'window_s', 'severity']);
      let allow = [...DEFAULT_ALLOWED_ALGORITHMS];
      if (o.allow !== undefined) {
        if (
          Array.isArray(o.allow) &&
          o.allow.every((a) => typeof a === 'string' && a.length > 0 && a.toLowerCase() !== 'none')
        )
          allow = [...(o.allow as string[])];
        else
          check.issue(
            `${path}.allow`,
            shapeOf(o.allow),
            "use an array of JWS algorithm names, e.g. ['RS256', 'ES256'] ('none' is never allowed)",
          );
      }
      builtIns.disallowed_algorithm = {
        severity: severity(check, `${path}.severity`, o.severity, 'high'),
        allow,
        window_s: check.int(`${path}.window_s`, o.window_s, 600, 1, YEAR_S),
      };
    }
    o = each('invalid_signature_burst');
    if (o) {
      const path = 'builtIns.invalid_signature_burst';
      check.known(path, o, ['capacity', 'leak_s', 'severity']);
      builtIns.invalid_signature_burst = {
        severity: severity(check, `${path}.severity`, o.severity, 'medium'),
        capacity: check.int(`${path}.capacity`, o.capacity, 5, 0, 1_000_000),
        leak_s: check.int(`${path}.leak_s`, o.leak_s, 10, 1, 86_400),
      };
    }
    o = each('access_token_replay');
    if (o) {
      const path = 'builtIns.access_token_replay';
      check.known(path, o, ['window_s', 'severity']);
      builtIns.access_token_replay = {
        severity: severity(check, `${path}.severity`, o.severity, 'high'),
        window_s: check.int(`${path}.window_s`, o.window_s, 86_400, 1, YEAR_S),
      };
    }
    o = each('refresh_token_reuse');
    if (o) {
      const path = 'builtIns.refresh_token_reuse';
      check.known(path, o, ['window_s', 'severity']);
      builtIns.refresh_token_reuse = {
        severity: severity(check, `${path}.severity`, o.severity, 'high'),
        window_s: check.int(`${path}.window_s`, o.window_s, 2_592_000, 1, YEAR_S),
      };
    }
    o = each('silent_pipeline');
    if (o) {
      const path = 'builtIns.silent_pipeline';
      check.known(path, o, ['missed', 'severity']);
      builtIns.silent_pipeline = {
        severity: severity(check, `${path}.severity`, o.severity, 'high'),
        missed: check.int(`${path}.missed`, o.missed, 3, 1, 100),
      };
    }
  }
  const custom = checkCustom(check, check.o.custom, Object.keys(builtIns));
  const state = check.o.state ?? memoryState();
  if (
    state === null ||
    typeof state !== 'object' ||
    typeof (state as DetectorState).apply !== 'function' ||
    typeof (state as DetectorState).stats !== 'function'
  )
    check.issue('state', shapeOf(state), 'use memoryState() or another DetectorState');
  const alerts = resolveAlerts(check, check.o.alerts);
  const enforce = resolveEnforce(check, check.o.enforce, builtIns.brute_force);
  check.done();
  return Object.freeze({ builtIns, custom, state: state as DetectorState, alerts, enforce });
}

/** `value` if it is a finite number from `min` to `max` (fractions too), `fallback` if absent. */
function real(
  check: OptionCheck<unknown>,
  path: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value >= min && value <= max) return value;
  check.issue(path, shapeOf(value), `use a number from ${min} to ${max}`);
  return fallback;
}

/**
 * A surge's baseline: whole seconds, at most 100 windows, so that a key holds at most 1,010
 * buckets (ten per window).
 */
function baseline(
  check: OptionCheck<unknown>,
  path: string,
  value: unknown,
  fallback: number,
  window_s: number,
): number {
  if (value === undefined) return fallback;
  const max = Math.min(YEAR_S, window_s * 100);
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max)
    return value as number;
  check.issue(path, shapeOf(value), `use a whole number from 1 to ${max} (100 windows)`);
  return fallback;
}

function severity(
  check: OptionCheck<unknown>,
  path: string,
  value: unknown,
  fallback: DetectionSeverity,
): DetectionSeverity {
  return check.oneOf(path, value, DETECTION_SEVERITIES, fallback);
}

/** The user's detectors, each checked as the engine will use it; names unique among all. */
function checkCustom(
  check: OptionCheck<unknown>,
  value: unknown,
  taken: readonly string[],
): Detector[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    check.issue('custom', shapeOf(value), 'use an array of detectors');
    return [];
  }
  const names = new Set(taken);
  value.forEach((d: Partial<Detector> | null, i) => {
    const at = `custom[${i}]`;
    if (d === null || typeof d !== 'object') {
      check.issue(at, shapeOf(d), 'use a detector: { name, type, severity, rule, read }');
      return;
    }
    if (!isDetectorName(d.name))
      check.issue(`${at}.name`, shapeOf(d.name), 'use a name of the form [a-z][a-z0-9_]{0,63}');
    else if (names.has(d.name))
      check.issue(`${at}.name`, `"${d.name}" again`, 'give each detector its own name');
    else names.add(d.name);
    if (!isEventType(d.type) || !d.type.endsWith('.detected'))
      check.issue(
        `${at}.type`,
        shapeOf(d.type),
        'use an event type <category>.<action>.detected, e.g. "oauth.consent_storm.detected"',
      );
    check.oneOf(`${at}.severity`, d.severity, DETECTION_SEVERITIES, 'low');
    if (d.severity === undefined) check.issue(`${at}.severity`, 'nothing', 'give a severity');
    if (typeof d.read !== 'function')
      check.issue(`${at}.read`, shapeOf(d.read), 'use a function (event) => reading | undefined');
    const rules = Array.isArray(d.rule) ? (d.rule as Rule[]) : [d.rule as Rule];
    if (rules.length === 0) check.issue(`${at}.rule`, 'an empty array', 'give at least one rule');
    rules.forEach((rule, r) =>
      checkRule(check, Array.isArray(d.rule) ? `${at}.rule[${r}]` : `${at}.rule`, rule),
    );
  });
  // A sequence follows detectors that exist: a misspelt name would never fire.
  value.forEach((d: Partial<Detector> | null, i) => {
    const rules = d && typeof d === 'object' ? [d.rule].flat() : [];
    rules.forEach((rule, r) => {
      if (rule?.kind !== 'sequence' || rule.after === undefined) return;
      const at = Array.isArray(d!.rule)
        ? `custom[${i}].rule[${r}].after`
        : `custom[${i}].rule.after`;
      if (!Array.isArray(rule.after) || rule.after.some((name) => !names.has(name)))
        check.issue(at, shapeOf(rule.after), `name detectors that run: ${[...names].join(', ')}`);
    });
  });
  return value as Detector[];
}

function checkRule(check: OptionCheck<unknown>, at: string, rule: Rule | undefined): void {
  if (rule === null || typeof rule !== 'object') {
    check.issue(
      at,
      shapeOf(rule),
      "use a rule, e.g. { kind: 'count', threshold: 5, window_s: 60 }",
    );
    return;
  }
  const need = (field: string, value: unknown, min: number, max: number) => {
    if (value === undefined)
      check.issue(`${at}.${field}`, 'nothing', `give a whole number from ${min} to ${max}`);
    else check.int(`${at}.${field}`, value, min, min, max);
  };
  switch (rule.kind) {
    case 'count':
    case 'distinct':
    case 'consecutive':
      need('threshold', rule.threshold, 1, 1_000_000);
      need('window_s', rule.window_s, 1, YEAR_S);
      return;
    case 'sequence':
      need('within_s', rule.within_s, 1, YEAR_S);
      if (rule.repeat !== undefined && typeof rule.repeat !== 'boolean')
        check.issue(`${at}.repeat`, shapeOf(rule.repeat), 'use true or false');
      return;
    case 'bucket':
      need('capacity', rule.capacity, 0, 1_000_000);
      need('leak_s', rule.leak_s, 1, 86_400);
      return;
    case 'silence':
      need('missed', rule.missed, 1, 100);
      return;
    case 'surge': {
      need('threshold', rule.threshold, 1, 1_000_000);
      need('window_s', rule.window_s, 1, YEAR_S);
      if (rule.factor === undefined)
        check.issue(`${at}.factor`, 'nothing', 'give a number from 1 to 1000, e.g. 3');
      else real(check, `${at}.factor`, rule.factor, 1, 1, 1000);
      const w = Number.isInteger(rule.window_s) && rule.window_s >= 1 ? rule.window_s : YEAR_S;
      if (rule.baseline_s === undefined)
        check.issue(`${at}.baseline_s`, 'nothing', 'give a whole number of seconds, e.g. 3600');
      else baseline(check, `${at}.baseline_s`, rule.baseline_s, 1, w);
      real(check, `${at}.distinct`, rule.distinct, 0, 0, 1);
      return;
    }
    default:
      check.issue(
        `${at}.kind`,
        shapeOf((rule as { kind?: unknown }).kind),
        "use 'count', 'distinct', 'consecutive', 'sequence', 'bucket', 'surge' or 'silence'",
      );
  }
}
