// Is a line of a file an authtrail event? `import`, `ingest` and `tail` take only lines that are:
// a file may hold other JSON (an ECS copy, an app's own log lines), a cut line, or anything at all.
import {
  detectionProblems,
  isEventType,
  isUuid,
  isZonedTime,
  type AuditEvent,
} from '@authtrail/core';

/** A line read as an event, or why it is not one (worded for a message, no text of the line in it). */
export type EventLine =
  { event: AuditEvent; problem?: undefined } | { event?: undefined; problem: string };

const OUTCOMES = new Set(['success', 'failure', 'detected']);

// The fields the store copies into typed columns: each must be text where present, or the row
// would hold a number as text, or the insert fail for the whole batch.
const TEXT_FIELDS = [
  ['observer', 'service'],
  ['observer', 'instance'],
  ['reason'],
  ['user', 'id'],
  ['user', 'hash'],
  ['client', 'id'],
  ['source', 'ip'],
  ['flow', 'id'],
  ['oauth', 'token', 'fingerprint'],
  ['session', 'id'],
  ['http', 'route'],
  ['trace', 'id'],
] as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why `event` cannot be stored as an authtrail event, or undefined when it can. */
function problemOf(event: Record<string, unknown>): string | undefined {
  if (event.schema !== 1) return 'not an authtrail event (no "schema": 1)';
  if (!isUuid(event.id)) return '"id" is not a UUID';
  if (!isZonedTime(event.time)) return '"time" is not an ISO-8601 time with a zone';
  if (!isEventType(event.type)) return '"type" is not an event type (such as authn.login.failure)';
  if (typeof event.outcome !== 'string' || !OUTCOMES.has(event.outcome))
    return '"outcome" is not success, failure or detected';
  for (const path of TEXT_FIELDS) {
    let value: unknown = event;
    for (let i = 0; i < path.length; i++) {
      if (value === undefined) break;
      if (i > 0 && !isObject(value)) return `"${path.slice(0, i).join('.')}" is not an object`;
      value = (value as Record<string, unknown>)[path[i]!];
    }
    if (value !== undefined && typeof value !== 'string')
      return `"${path.join('.')}" is not a string`;
  }
  const http = event.http;
  if (http !== undefined) {
    if (!isObject(http)) return '"http" is not an object';
    const status = http.status;
    if (
      status !== undefined &&
      !(Number.isInteger(status) && (status as number) >= 0 && (status as number) < 1000)
    )
      return '"http.status" is not an HTTP status';
  }
  // A detection is evidence an auditor or a report relies on: only the shape record() accepts.
  if (event.detection !== undefined) {
    const [problem] = detectionProblems(event.detection);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** `text` read as an authtrail event (native format, schema 1); a blank line is neither (undefined). */
export function eventLine(text: string): EventLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.trim() === '' ? undefined : { problem: 'not JSON' };
  }
  if (!isObject(value)) return { problem: 'not a JSON object' };
  const problem = problemOf(value);
  return problem === undefined ? { event: value as unknown as AuditEvent } : { problem };
}
