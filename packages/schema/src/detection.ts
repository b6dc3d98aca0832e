import type { DetectionSeverity } from './types.js';
import { isUuid, isZonedTime } from './values.js';

/** The severities a detection can have, least urgent first. */
export const DETECTION_SEVERITIES = [
  'low',
  'medium',
  'high',
  'critical',
] as const satisfies readonly DetectionSeverity[];

const DETECTOR = /^[a-z][a-z0-9_]{0,63}$/;
// A keyed hash in base64url: 16 characters (96 bits) at least, so that a short raw value (an
// account name, a service) is not taken for one; 128 at most (a 512-bit digest is 86).
const KEY = /^[A-Za-z0-9_-]{16,128}$/;
/** Counts and thresholds: what a 32-bit integer column holds, far above any real window's count. */
const MAX_COUNT = 2_147_483_647;
/** The longest window: a year. */
const MAX_WINDOW_S = 366 * 86_400;
const FIELDS = new Set([
  'detector',
  'key',
  'severity',
  'count',
  'threshold',
  'window_s',
  'first',
  'last',
  'first_time',
]);

/** Whether `name` can name a detector: `[a-z][a-z0-9_]{0,63}`, as `brute_force` does. */
export function isDetectorName(name: unknown): name is string {
  return typeof name === 'string' && DETECTOR.test(name);
}

/**
 * What is wrong with an event's `detection` field, one sentence per problem (empty when nothing
 * is): every field of `DetectionInfo` of its type and within its bounds, and no other field.
 * The sentences name the field and what it must be, never the value received (a key that is not a
 * hash may be the raw account name it should have hidden).
 * @example
 * detectionProblems({ detector: 'Brute Force' }); // ['detection.detector is not ...', ...]
 */
export function detectionProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return [`detection is not an object (received ${shape(value)})`];
  const d = value as Record<string, unknown>;
  const problems: string[] = [];
  const check = (field: string, ok: boolean, must: string) => {
    if (!ok) problems.push(`detection.${field} is not ${must} (received ${shape(d[field])})`);
  };
  check('detector', isDetectorName(d.detector), 'a detector name ([a-z][a-z0-9_]{0,63})');
  check(
    'key',
    typeof d.key === 'string' && KEY.test(d.key),
    'a keyed hash in base64url of 16 to 128 characters',
  );
  check(
    'severity',
    (DETECTION_SEVERITIES as readonly unknown[]).includes(d.severity),
    `one of ${DETECTION_SEVERITIES.join(', ')}`,
  );
  check('count', isCount(d.count, 0, MAX_COUNT), `an integer from 0 to ${MAX_COUNT}`);
  check('threshold', isCount(d.threshold, 0, MAX_COUNT), `an integer from 0 to ${MAX_COUNT}`);
  if (d.window_s !== undefined)
    check('window_s', isCount(d.window_s, 1, MAX_WINDOW_S), `an integer from 1 to ${MAX_WINDOW_S}`);
  check('first', isUuid(d.first), 'an event id (a UUID)');
  check('last', isUuid(d.last), 'an event id (a UUID)');
  if (d.first_time !== undefined)
    check('first_time', isZonedTime(d.first_time), 'an ISO-8601 time with a zone');
  const others = Object.keys(d).filter((k) => !FIELDS.has(k)).length;
  if (others > 0)
    problems.push(
      `detection has ${others} field${others === 1 ? '' : 's'} other than ${[...FIELDS].join(', ')}`,
    );
  return problems;
}

function isCount(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** What was received, without its text: a string only by its length. */
function shape(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
