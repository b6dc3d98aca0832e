import { groupField } from './query/aggregate.js';
import type { BucketInterval, QueryField } from './query/types.js';
import type { StoreFilter } from './types.js';

/**
 * The columns of `authtrail_events` the hourly rollup (`authtrail_hourly`) counts by: those a
 * histogram is split and filtered by, each of few values an hour. Left out: user, ip, flow, token,
 * session, trace and id (a value an event or a person: the rollup would be as large as the events)
 * and route (hundreds of templates would multiply its rows; status says most of what a route
 * histogram is for). `status` follows from type and outcome nearly always, so it costs few rows.
 */
export const ROLLUP_COLUMNS = [
  ['type', 'text'],
  ['outcome', 'text'],
  ['reason', 'text'],
  ['client_id', 'text'],
  ['service', 'text'],
  ['instance', 'text'],
  ['status', 'int'],
] as const;

const NAMES = ROLLUP_COLUMNS.map(([name]) => name);
// The nullable ones (type and outcome are NOT NULL), with their bit in `nulls`.
const NULLABLE = ROLLUP_COLUMNS.slice(2);

/** The UTC hour an event time falls in. Not date_bin (PostgreSQL 14) nor date_trunc alone (session TimeZone). */
function hourOf(time: string): string {
  return `(date_trunc('hour', ${time} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
}

// PostgreSQL 13 has no NULLS NOT DISTINCT: a unique index would let two rows (hour, NULL reason)
// stand side by side, and an upsert would add a row instead of counting. So the key holds
// coalesce(column, '') (or 0), and `nulls` has a bit for each column that is NULL, which keeps a
// NULL reason apart from an empty one. The same list makes the index and each ON CONFLICT.
const KEY = [
  'hour',
  'type',
  'outcome',
  ...NULLABLE.map(([name, type]) => `(coalesce(${name}, ${type === 'int' ? '0' : "''"}))`),
  'nulls',
].join(', ');
const NULLS = NULLABLE.map(
  ([name], i) => `(CASE WHEN ${name} IS NULL THEN ${1 << i} ELSE 0 END)`,
).join(' | ');

/**
 * The SQL that creates the hourly rollup (migration 2): one row a UTC hour and combination of
 * {@link ROLLUP_COLUMNS} values, `n` the events of it; then fills it from the events already stored.
 */
export function rollupTableSql(s: string): string {
  const columns = ROLLUP_COLUMNS.map(
    ([name, type]) =>
      `  ${name} ${type}${name === 'type' || name === 'outcome' ? ' NOT NULL' : ''}`,
  ).join(',\n');
  return `
CREATE TABLE ${s}.authtrail_hourly (
  hour timestamptz NOT NULL,
${columns},
  nulls int NOT NULL,
  n bigint NOT NULL
) WITH (fillfactor = 50);
-- Half-full pages: an insert's update of a count finds room on the row's page (a HOT update,
-- no new index entry), so the table and its index do not grow with every batch.
CREATE UNIQUE INDEX authtrail_hourly_key ON ${s}.authtrail_hourly (${KEY});
-- Inserts wait until the migration commits: none lands between the fill and the first insert
-- that counts itself.
LOCK TABLE ${s}.authtrail_events IN SHARE MODE;
${rollupUpsertSql(s, `${s}.authtrail_events`)};
`;
}

/**
 * The statement adding the events of `source` (a table or a CTE with the rollup's columns and
 * `time`) to the rollup. Rows go in key order: two inserts at once then lock the rows they share
 * in one order, and wait for each other instead of deadlocking. `count` is what a group of source
 * rows adds: `count(*)` when they are events, `sum(n)` when they are counts made by the caller
 * (PostgreSQL's COPY path counts its batch in Node).
 */
export function rollupUpsertSql(s: string, source: string, count = 'count(*)'): string {
  const keyed = `${NAMES.join(', ')}, ${NULLS}`;
  return `INSERT INTO ${s}.authtrail_hourly AS h (hour, ${NAMES.join(', ')}, nulls, n)
SELECT ${hourOf('time')}, ${keyed}, ${count} FROM ${source}
GROUP BY 1, ${NAMES.map((_, i) => i + 2).join(', ')}, ${NAMES.length + 2} ORDER BY 1, ${NAMES.map((_, i) => i + 2).join(', ')}, ${NAMES.length + 2}
ON CONFLICT (${KEY}) DO UPDATE SET n = h.n + excluded.n`;
}

/** The rollup as a relation with the events' column names, `time` the hour, `n` its events. */
export function rollupSource(s: string): string {
  return `(SELECT hour AS time, ${NAMES.join(', ')}, n FROM ${s}.authtrail_hourly)`;
}

// A filter is answered from the rollup only when it is made of the rollup's columns, placeholders,
// comparisons and these words: compileQuery's output over those fields. Anything else (a function,
// a cast, a literal, another column) may mean something an hour's count cannot tell: scan.
const WORDS = new Set(['and', 'or', 'not', 'is', 'true', 'false', 'null', 'like', 'between']);
const TOKEN = /\s+|\$\d+|[A-Za-z_][A-Za-z0-9_]*|<=|>=|<>|!=|[=<>()]/y;

function filterCovered(where: string): boolean {
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < where.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(where);
    if (m === null || TOKEN.lastIndex === at) return false;
    const word = m[0];
    if (/^[A-Za-z_]/.test(word) && !WORDS.has(word.toLowerCase()) && !NAMES.includes(word as never))
      return false;
  }
  return true;
}

/**
 * Whether a count or top N can be answered from the hourly rollup exactly: buckets of an hour or
 * more, grouped by a rollup column, filtered by rollup columns only.
 */
export function rollupCovers(options: {
  interval?: BucketInterval;
  by?: QueryField;
  where?: StoreFilter;
}): boolean {
  if (options.interval !== undefined && options.interval !== '1h' && options.interval !== '1d')
    return false;
  if (options.by !== undefined && !NAMES.includes(groupField(options.by) as never)) return false;
  const where = options.where?.where;
  return where === undefined || (typeof where === 'string' && filterCovered(where));
}

const HOUR_MS = 3_600_000;

/**
 * How a time range splits between the rollup and the events: the rollup answers whole hours
 * `[from, to)` (either side open when the range is); the events the part hours at the edges,
 * `[range.from, from)` and `[to, range.to)`. Undefined when the range holds no whole hour.
 */
export function wholeHours(
  from: Date | undefined,
  to: Date | undefined,
): { from: Date | undefined; to: Date | undefined } | undefined {
  const start = from && new Date(Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS);
  const end = to && new Date(Math.floor(to.getTime() / HOUR_MS) * HOUR_MS);
  if (start && end && start.getTime() >= end.getTime()) return undefined;
  return { from: start, to: end };
}
