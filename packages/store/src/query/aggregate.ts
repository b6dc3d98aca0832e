import { fieldSpec, QUERY_FIELDS } from './fields.js';
import { QueryError, quote } from './internal/query-error.js';
import type { BucketInterval, QueryField } from './types.js';

// date_bin from a fixed UTC origin, not date_trunc: date_trunc('day', ...) follows the session's
// TimeZone, so two clients would bucket the same events differently. Constants only: the caller's
// interval selects one of these strings and is never part of the SQL.
const BUCKETS: Readonly<Record<BucketInterval, string>> = Object.freeze({
  '1m': "date_bin('1 minute', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
  '5m': "date_bin('5 minutes', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
  '15m': "date_bin('15 minutes', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
  '1h': "date_bin('1 hour', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
  '1d': "date_bin('1 day', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
});

/** The bucket widths {@link bucketExpr} accepts. */
export const BUCKET_INTERVALS: readonly BucketInterval[] = Object.freeze(
  Object.keys(BUCKETS) as BucketInterval[],
);

/**
 * The SQL expression of the start of the time bucket an event falls in (UTC-aligned), for
 * `GROUP BY` in a histogram. Throws `ERR_AUTHTRAIL_INVALID_QUERY` for an interval not in
 * {@link BUCKET_INTERVALS}.
 *
 * @example
 * ```ts
 * const bucket = bucketExpr('1h');
 * const sql = `SELECT ${bucket} AS bucket, outcome, count(*) FROM events WHERE ${q.where} GROUP BY 1, 2 ORDER BY 1`;
 * ```
 */
export function bucketExpr(interval: BucketInterval): string {
  if (typeof interval === 'string' && Object.hasOwn(BUCKETS, interval)) return BUCKETS[interval];
  throw new QueryError(
    `authtrail: invalid bucket interval ${typeof interval === 'string' ? quote(interval) : typeof interval}; use one of ${BUCKET_INTERVALS.join(', ')}`,
  );
}

/** The query fields {@link groupField} accepts: all but `trace` and `id`, which name one request or event. */
export const GROUP_FIELDS: readonly QueryField[] = Object.freeze(
  QUERY_FIELDS.filter((name) => fieldSpec(name)?.group !== undefined),
);

/**
 * The SQL expression to group by for a query field (`client` → `client_id`, `user` → the id or,
 * for a pseudonymised user, the hash), from an allow list: a field name from a request never
 * becomes an identifier. Throws `ERR_AUTHTRAIL_INVALID_QUERY` for any other name.
 *
 * @example
 * ```ts
 * const by = groupField('ip');
 * const sql = `SELECT ${by} AS key, count(*) AS n FROM events WHERE ${q.where} GROUP BY 1 ORDER BY n DESC LIMIT 10`;
 * ```
 */
export function groupField(name: QueryField): string {
  const field =
    typeof name === 'string' && GROUP_FIELDS.includes(name) ? fieldSpec(name) : undefined;
  if (field?.group !== undefined) return field.group;
  throw new QueryError(
    `authtrail: cannot group by ${typeof name === 'string' ? quote(name) : typeof name}; use one of ${GROUP_FIELDS.join(', ')}`,
  );
}
