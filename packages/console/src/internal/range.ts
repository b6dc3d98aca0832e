// Query-string parameters of the API, checked: times, whole numbers, words from a list.
import { parseTime } from '@authtrail/store';

/** A parameter the caller got wrong: answered 400 with `code` and `message`. */
export class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** `from` / `to`: ISO-8601 with a zone, a date (UTC), `now`, or `-30m`, `-24h`, `-7d`, `-2w`. */
export function instant(name: string, text: string | null, now: number): Date | undefined {
  if (text === null || text === '') return undefined;
  const date = parseTime(text, now);
  if (date === undefined)
    throw new BadRequest(
      'invalid_parameter',
      `${name} is not a time: use ISO-8601 with a zone (2026-03-01T10:00:00Z), a date, now, or -30m, -24h, -7d`,
    );
  return date;
}

/** A range whose `from` is before its `to`. */
export function range(params: URLSearchParams, now: number, fallbackFrom?: number) {
  const from =
    instant('from', params.get('from'), now) ??
    (fallbackFrom === undefined ? undefined : new Date(fallbackFrom));
  const to = instant('to', params.get('to'), now);
  if (from && to && from.getTime() >= to.getTime())
    throw new BadRequest('invalid_parameter', 'from must be before to');
  return { from, to };
}

export function whole(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max))
    throw new BadRequest(
      'invalid_parameter',
      `${name} must be a whole number from ${min} to ${max}`,
    );
  return n;
}

export function oneOf<C extends string>(
  params: URLSearchParams,
  name: string,
  choices: readonly C[],
  fallback: C,
): C {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  if (!(choices as readonly string[]).includes(text))
    throw new BadRequest('invalid_parameter', `${name} must be one of ${choices.join(', ')}`);
  return text as C;
}

/** A bounded string parameter (the query text, a cursor). */
export function text(params: URLSearchParams, name: string, max: number): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > max)
    throw new BadRequest('invalid_parameter', `${name} is longer than ${max} characters`);
  return value;
}

/** Rejects with a 503 answer if `promise` takes longer than `ms` (the store call itself goes on). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(Object.assign(new Error('the store did not answer in time'), { code: 'timeout' })),
      ms,
    );
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
