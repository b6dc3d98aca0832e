import {
  AuthtrailError,
  detectionProblems,
  isEventType,
  outcomeOf,
  type AuditEvent,
  type ManualEvent,
  type ObserverRole,
} from '@authtrail/schema';
import { shapeOf } from './errors.js';
import { newEvent } from './event.js';
import { auditUser } from './internal/user.js';
import type { ResolvedOptions } from './options.js';
import { clean, redactPath, redactQuery } from './redact.js';

/** The fields of a manual event taken from the app, in the order they are filled in. */
const MANUAL_FIELDS = [
  'reason',
  'error',
  'user',
  'client',
  'oauth',
  'session',
  'flow',
  'http',
  'source',
  'trace',
  // Store retention's report (`audit.retention.*`), recorded through a sink host.
  'retention',
  // A lockout's own (`authn.lockout.success`, `authn.lockout_end.success`), recorded through a sink host.
  'lockout',
  // A read of the trail (`audit.access.*`): the console's view, query, range and result count.
  'access',
] as const;

/**
 * Bytes of JSON the app's fields of one manual event take at most, together. With the fixed part of
 * an event (schema, id, time, type, observer, chain: under 2 KiB) a manual event line stays within
 * the bound docs/events.md gives for built events (92,582 bytes).
 */
export const MANUAL_BYTES = 90_000;
/** Nesting below a field: its value is level 0, so 5 levels in all. */
const MAX_DEPTH = 4;
const MAX_KEYS = 50;
const MAX_ITEMS = 100;
const MAX_KEY_LENGTH = 64;
// Keys that would reach an object's prototype instead of becoming its own property.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A manual event from what app code passed to `record()`. App code hands over whatever it has (a
 * failed sign-in's attempted user name, a request body, an error), so it gets what built events get:
 * the same `user` rules (`pseudonymize`, `profile`), the same path and query redaction, and plain
 * data only, bounded in depth, keys, items, string length and in total. Throws
 * `ERR_AUTHTRAIL_INVALID_EVENT` for a type that is not `<category>.<action>.<outcome>`, for an
 * event that sets what the auditor sets (`schema`, `id`, `time`, `outcome`, `seq`, `chain`,
 * `delivery`), and for a `detection` that breaks the schema's rules or is not on a `*.detected`
 * type.
 */
export function manualEvent(
  o: ResolvedOptions,
  observers: Readonly<Record<ObserverRole, AuditEvent['observer']>>,
  input: ManualEvent,
): AuditEvent {
  if (input === null || typeof input !== 'object' || !isEventType(input.type)) {
    const type = (input as { type?: unknown } | null)?.type;
    const shown =
      typeof type === 'string' && /^[\w.-]{1,140}$/.test(type)
        ? JSON.stringify(type)
        : shapeOf(type);
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_EVENT',
      `authtrail: event type ${shown} is not of the form <category>.<action>.<success|failure|detected>, e.g. "authn.mfa_enroll.success"`,
    );
  }
  refuseOwnFields(input);
  const detection = input.detection === undefined ? undefined : manualDetection(input);
  const role =
    input.observer?.role === 'op' || input.observer?.role === 'rp' ? input.observer.role : 'rs';
  const event = newEvent(observers[role], input.type, Date.now());
  const budget = { left: MANUAL_BYTES };
  const max = o.limits.maxStringLength;
  for (const key of MANUAL_FIELDS) {
    let value: unknown = input[key];
    if (value === undefined) continue;
    // Codes are strings in every format (ECS `event.reason` and `error.code` are keywords): an app
    // that passes something else has a bug, and its value is not logged as if it were a code.
    if (key === 'reason' && typeof value !== 'string') continue;
    if (key === 'error' && (!isRecord(value) || typeof value.code !== 'string')) continue;
    if (key === 'user') value = manualUser(o, value);
    const rewrite =
      key === 'http' ? (name: string, v: unknown) => redactHttp(o, name, v) : undefined;
    (event as unknown as Record<string, unknown>)[key] = sanitize(value, max, 0, budget, rewrite);
  }
  // Checked whole rather than sanitized: a detection cut or stripped would count or point at
  // something else. Its key is a hash already and is kept as it is (never redacted or hashed
  // again); it takes at most ~400 bytes, outside the budget.
  event.detection = detection;
  return event;
}

/**
 * The `detection` of a manual event, checked by the schema's rules, or ERR_AUTHTRAIL_INVALID_EVENT
 * naming every problem (never a value: a key that is not a hash may be what it should have hidden).
 */
function manualDetection(input: ManualEvent): AuditEvent['detection'] {
  const problems = detectionProblems(input.detection);
  if (outcomeOf(input.type) !== 'detected')
    problems.unshift(`detection is for *.detected types only, not ${JSON.stringify(input.type)}`);
  if (problems.length > 0)
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_EVENT',
      `authtrail: record() cannot record this detection: ${problems.join('; ')}`,
    );
  const d = input.detection!;
  // A copy of its fields, read once: nothing the app keeps can change the event afterwards.
  return {
    detector: d.detector,
    key: d.key,
    severity: d.severity,
    count: d.count,
    threshold: d.threshold,
    window_s: d.window_s,
    first: d.first,
    last: d.last,
    first_time: d.first_time,
  };
}

/**
 * Fields the auditor sets: an app that passes them expects them kept (a back-dated `time`, a copied
 * event's `id` or `seq`), and dropping them quietly would log something else than it asked for.
 * Refused like a bad type, naming the fields (never their values, which may be anything).
 */
const OWN_FIELDS = [
  'schema',
  'id',
  'time',
  'outcome',
  'seq',
  'chain',
  'delivery',
  // An app's `heartbeat` would tell a watcher (`silent_pipeline`) an instance is alive.
  'heartbeat',
] as const;

function refuseOwnFields(input: ManualEvent): void {
  const fields = input as Record<string, unknown>;
  // Named reads, not a loop over OWN_FIELDS: ~1-8 ns a record() against 60-110 ns for keyed reads
  // (measured on Node 20, 2M calls), and nothing allocated for a well-formed event.
  if (
    fields.schema === undefined &&
    fields.id === undefined &&
    fields.time === undefined &&
    fields.outcome === undefined &&
    fields.seq === undefined &&
    fields.chain === undefined &&
    fields.delivery === undefined &&
    fields.heartbeat === undefined
  )
    return;
  const given = OWN_FIELDS.filter((key) => fields[key] !== undefined);
  throw new AuthtrailError(
    'ERR_AUTHTRAIL_INVALID_EVENT',
    `authtrail: record() sets ${given.join(', ')} itself; leave ${given.length === 1 ? 'it' : 'them'} out ` +
      '(time is when the event is recorded, outcome the last word of its type; schema, id, seq, ' +
      "chain and delivery are the pipeline's)",
  );
}

/** The `user` of a manual event, by the rules of every event's `user` (see {@link auditUser}). */
function manualUser(o: ResolvedOptions, value: unknown): AuditEvent['user'] {
  if (!isRecord(value)) return undefined;
  const user = auditUser(o, { sub: value.id, name: value.name, email: value.email }, value.roles);
  // A pseudonym the app computed itself is kept, unless the subject gave one.
  const hash = clean(value.hash, 128);
  if (hash === undefined || user?.hash !== undefined) return user;
  return { ...user, hash };
}

/** A field of `http` as built events have it: `path`, `route` and `query` redacted, never as given. */
function redactHttp(o: ResolvedOptions, name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (name === 'query')
    // Cut first: the redacted query keeps at most 1024 characters of far fewer parameters.
    return redactQuery(value.slice(value.startsWith('?') ? 1 : 0, 4096), o.queryAllowList, 1024);
  if (name !== 'path' && name !== 'route') return value;
  const max = name === 'path' ? 1024 : 256;
  // One character more than is kept, so redactPath knows the path was cut (and drops its cut end).
  let path = value.length > max + 1 ? value.slice(0, max + 1) : value;
  // App code may hand over a whole request target as either: its query and fragment are not a path.
  for (const end of ['#', '?']) {
    const at = path.indexOf(end);
    if (at !== -1) path = path.slice(0, at);
  }
  return redactPath(path, max, o.pseudonymize);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Plain data only (strings, finite numbers, booleans, arrays, objects), bounded: 5 levels,
 * `MAX_KEYS` keys, `MAX_ITEMS` items, strings cut to `max` and keys to 64, control characters
 * removed. `budget.left` counts the bytes of JSON still allowed, each code unit at its worst (3
 * bytes) plus quotes and separators: what no longer fits is left out. Keys are cleaned first, then
 * checked, so that `"__proto__\u0007"` cannot become `__proto__` after the check. `rewrite`
 * changes the fields of the top level before they are bounded.
 */
function sanitize(
  value: unknown,
  max: number,
  depth: number,
  budget: { left: number },
  rewrite?: (key: string, value: unknown) => unknown,
): unknown {
  if (typeof value === 'string') {
    const s = clean(value, max)!;
    return spend(budget, 3 * s.length + 3) ? s : undefined;
  }
  if (typeof value === 'number')
    return Number.isFinite(value) && spend(budget, String(value).length + 1) ? value : undefined;
  if (typeof value === 'boolean') return spend(budget, 6) ? value : undefined;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  if (!spend(budget, 3)) return undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    const n = Math.min(value.length, MAX_ITEMS);
    for (let i = 0; i < n && budget.left > 0; i++) {
      const item = sanitize(value[i], max, depth + 1, budget);
      if (item !== undefined) out.push(item);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const rawKey in value) {
    if (!Object.hasOwn(value, rawKey)) continue;
    if (++n > MAX_KEYS || budget.left <= 0) break;
    const key = clean(rawKey, MAX_KEY_LENGTH)!;
    if (FORBIDDEN_KEYS.has(key) || !spend(budget, 3 * key.length + 3)) continue;
    let item = (value as Record<string, unknown>)[rawKey];
    if (rewrite) item = rewrite(key, item);
    item = sanitize(item, max, depth + 1, budget);
    if (item !== undefined) out[key] = item;
  }
  return out;
}

/** Takes `bytes` from the budget if they are there; once one value does not fit, nothing more does. */
function spend(budget: { left: number }, bytes: number): boolean {
  if (bytes > budget.left) {
    budget.left = 0;
    return false;
  }
  budget.left -= bytes;
  return true;
}
