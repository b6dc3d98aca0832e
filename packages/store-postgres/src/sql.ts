import { createHash } from 'node:crypto';
import { AuthtrailError } from '@authtrail/core/sink';
import { isUuid } from '@authtrail/schema';
import {
  rollupCovers,
  rollupSource,
  wholeHours,
  type BucketInterval,
  type QueryField,
  type StoreFilter,
  type TimeRange,
} from '@authtrail/store';

/** A statement's values, and the placeholder of each value added. */
export class Params {
  readonly values: unknown[] = [];
  /** `$n` for `value`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  /** A filter's `where`, its `$1..$n` moved after the values already here. */
  filter(filter: StoreFilter): string {
    const offset = this.values.length;
    this.values.push(...filter.params);
    return filter.where.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  }
}

function invalid(message: string): AuthtrailError {
  return new AuthtrailError('ERR_AUTHTRAIL_INVALID_QUERY', `postgresStore: ${message}`);
}

function instant(value: Date | string, name: string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw invalid(`\`${name}\` is not a date; use a Date or an ISO-8601 string`);
  return date;
}

/** The WHERE conditions of a time range and a filter (`true` when there are none). */
export function conditions(params: Params, range: TimeRange & { where?: StoreFilter }): string[] {
  const out: string[] = [];
  if (range.from !== undefined) out.push(`time >= ${params.add(instant(range.from, 'from'))}`);
  if (range.to !== undefined) out.push(`time < ${params.add(instant(range.to, 'to'))}`);
  if (range.where !== undefined) {
    const { where, params: values } = range.where;
    if (typeof where !== 'string' || !Array.isArray(values))
      throw invalid('`where` is not a compiled query; pass what compileQuery(text) returns');
    out.push(`(${params.filter(range.where)})`);
  }
  return out;
}

/**
 * The events counted by `groups` (SQL over the events' columns: a bucket, a key), as a relation of
 * `g0..gN` and `n` whose values are added to `params`. From the hourly rollup when it answers
 * exactly ({@link rollupCovers}): its whole hours there, the part hours at the range's edges from
 * the events (`table`); else by scanning the events. `s` is the quoted schema.
 */
export function groupCounts(
  params: Params,
  table: string,
  s: string,
  groups: readonly string[],
  options: TimeRange & { where?: StoreFilter; interval?: BucketInterval; by?: QueryField },
): string {
  const cols = groups.map((g, i) => `${g} AS g${i}`).join(', ');
  const by = groups.map((_, i) => i + 1).join(', ');
  const from = options.from === undefined ? undefined : instant(options.from, 'from');
  const to = options.to === undefined ? undefined : instant(options.to, 'to');
  const hours = rollupCovers(options) ? wholeHours(from, to) : undefined;
  if (hours === undefined)
    return `(SELECT ${cols}, count(*) AS n FROM ${table} ${whereClause(conditions(params, options))} GROUP BY ${by})`;
  const filter = conditions(params, { where: options.where });
  const inRollup = [...filter];
  if (hours.from) inRollup.push(`time >= ${params.add(hours.from)}`);
  if (hours.to) inRollup.push(`time < ${params.add(hours.to)}`);
  const parts = [
    `SELECT ${cols}, sum(n) AS n FROM ${rollupSource(s)} r ${whereClause(inRollup)} GROUP BY ${by}`,
  ];
  // The part hours, when the range does not start or end on an hour; the filter's placeholders are
  // the same values, used twice.
  const edges: string[] = [];
  if (from && hours.from && from < hours.from)
    edges.push(`(time >= ${params.add(from)} AND time < ${params.add(hours.from)})`);
  if (to && hours.to && to > hours.to)
    edges.push(`(time >= ${params.add(hours.to)} AND time < ${params.add(to)})`);
  if (edges.length > 0)
    parts.push(
      `SELECT ${cols}, count(*) AS n FROM ${table} ${whereClause([...filter, `(${edges.join(' OR ')})`])} GROUP BY ${by}`,
    );
  return `(${parts.join(' UNION ALL ')})`;
}

/**
 * How the key `column` of a count or top N is sorted: text by byte (`COLLATE "C"`), as the
 * embedded engine and a C-collated database do, so that a server's locale never reorders an
 * answer; an address (`ip`) and a `status` in their own order.
 */
export function keyOrder(column: string, field: QueryField | undefined): string {
  return field === undefined || field === 'ip' || field === 'status'
    ? column
    : `${column} COLLATE "C"`;
}

/** `WHERE a AND b`, or nothing. */
export function whereClause(parts: readonly string[]): string {
  return parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
}

/** A page size from 1 to `max`. */
export function limitOf(limit: unknown, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= max)
    return limit;
  throw invalid(`limit ${JSON.stringify(limit)} is not a whole number from 1 to ${max}`);
}

/**
 * The `id` column of an event. An auditor's ids are UUIDv7; one made by an `ids` test hook may
 * be any string, which the `uuid` column refuses (and a refused batch is retried forever). It
 * is then a UUIDv8 made from its SHA-256: the same string gives the same UUID, so idempotence
 * holds, and the event's own id stays in `event`.
 */
export function rowId(id: string): string {
  if (isUuid(id)) return id;
  const h = createHash('sha256').update(String(id)).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The milliseconds a UUIDv7 carries, or undefined for another UUID. */
export function uuidv7Time(id: string): number | undefined {
  if (!isUuid(id) || id[14] !== '7') return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
