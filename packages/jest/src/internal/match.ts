import { redactPath, type AuditEvent } from '@authtrail/core';

interface Asymmetric {
  asymmetricMatch(other: unknown): boolean;
}

const isAsymmetric = (v: unknown): v is Asymmetric =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as Partial<Asymmetric>).asymmetricMatch === 'function';

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Partial deep match, as `toMatchObject`: every key of `expected` must match, arrays element by
 * element with the same length, and asymmetric matchers (`expect.any(String)` ...) are honoured.
 */
export function matches(actual: unknown, expected: unknown): boolean {
  if (isAsymmetric(expected)) return expected.asymmetricMatch(actual);
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e))
    );
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return false;
    for (const key of Object.keys(expected)) {
      if (!matches(actual[key], expected[key])) return false;
    }
    return true;
  }
  return Object.is(actual, expected);
}

/** How many leaves of `expected` the actual value matches: ranks the nearest events. */
export function score(actual: unknown, expected: unknown): number {
  if (isObject(expected) && !isAsymmetric(expected)) {
    if (!isObject(actual)) return 0;
    let n = 0;
    for (const key of Object.keys(expected)) n += score(actual[key], expected[key]);
    return n;
  }
  return matches(actual, expected) ? 1 : 0;
}

/**
 * The part of `actual` that `expected` talks about, so that a diff shows only what was asked for
 * (and what is missing), not the whole event.
 */
export function subset(actual: unknown, expected: unknown): unknown {
  if (!isObject(expected) || isAsymmetric(expected) || !isObject(actual)) return actual;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) {
    if (key in actual) out[key] = subset(actual[key], expected[key]);
  }
  return out;
}

/** The events most like `expected`: same type first, then by matching fields; at most `limit`. */
export function nearest(
  events: readonly AuditEvent[],
  expected: Record<string, unknown>,
  limit = 3,
  from = 0,
): Array<{ index: number; event: AuditEvent }> {
  const ranked: Array<{ index: number; event: AuditEvent; rank: number }> = [];
  for (let index = from; index < events.length; index++) {
    const event = events[index]!;
    const rank = (event.type === expected.type ? 1000 : 0) + score(event, expected);
    if (rank > 0) ranked.push({ index, event, rank });
  }
  ranked.sort((a, b) => b.rank - a.rank || a.index - b.index);
  return ranked.slice(0, limit).map(({ index, event }) => ({ index, event }));
}

/** One line per event: what a reader scans for first. */
export function summary(event: AuditEvent): string {
  const facts = [
    event.observer?.role,
    event.reason && `reason=${event.reason}`,
    event.error?.code && `error=${event.error.code}`,
    event.user?.id && `user=${event.user.id}`,
    event.client?.id && `client=${event.client.id}`,
    // Redacted again: a listing goes to CI logs, and an array of events may come from anywhere.
    event.http &&
      `${event.http.method} ${redactPath(String(event.http.path), 1024, false)} -> ${event.http.status}`,
  ].filter(Boolean);
  return `${event.type}${facts.length ? `  (${facts.join(', ')})` : ''}`;
}

/** The recorded events, numbered, at most `max` lines; `mark` may annotate some of them. */
export function listing(
  events: readonly AuditEvent[],
  mark: (index: number) => string = () => '',
  max = 20,
): string {
  if (events.length === 0) return 'No events were recorded.';
  const lines = events
    .slice(0, max)
    .map((e, i) => `  #${i} ${summary(e)}${mark(i)}`)
    .join('\n');
  const more = events.length > max ? `\n  ... and ${events.length - max} more` : '';
  return `Recorded ${events.length} event${events.length === 1 ? '' : 's'}:\n${lines}${more}`;
}
