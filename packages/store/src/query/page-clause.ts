import { decodeAscii, encodeAscii } from './internal/base64url.js';
import { firstParamOf } from './internal/placeholders.js';
import { QueryError } from './internal/query-error.js';
import { AuthtrailError } from '@authtrail/schema';
import type { CompiledQuery, PageCursor, PageOptions } from './types.js';

/** The order keyset pages are read in by default (newest first); `pageClause` continues after a row in it. */
export const PAGE_ORDER = 'time DESC, id DESC';

/** The ORDER BY of a listing {@link pageClause} continues with the same `order`. */
export function pageOrder(order: 'asc' | 'desc' = 'desc'): string {
  return order === 'asc' ? 'time ASC, id ASC' : PAGE_ORDER;
}

// The format of a cursor's text, before base64url. The version lets a later format be told apart.
const VERSION = '1';
// A cursor is 1|time|id: at most 1 + 1 + 32 + 1 + 36 characters (about 100 in base64url).
const MAX_CURSOR = 128;
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-](\d{2}):(\d{2}))$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * True for an ISO 8601 time that names a real instant: the calendar is checked (February 30th
 * would pass a pattern and fail in PostgreSQL as an SQL error, which a forged cursor must not cause).
 */
function isIsoTime(text: string): boolean {
  const m = ISO_TIME.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    year < 1 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  return m[8] === 'Z' || (Number(m[9]) <= 15 && Number(m[10]) <= 59);
}

function invalidCursor(problem: string): QueryError {
  return new QueryError(
    `authtrail: invalid page cursor: ${problem}; use the cursor of the previous page as given`,
  );
}

/**
 * The opaque cursor of the page that follows `row`, the last row of a page read in
 * {@link PAGE_ORDER}. It carries the row's time and id and nothing else.
 */
export function encodeCursor(row: PageCursor): string {
  const time = row.time instanceof Date ? row.time.toISOString() : row.time;
  const id = typeof row.id === 'string' ? row.id.toLowerCase() : '';
  if (typeof time !== 'string' || !isIsoTime(time))
    throw invalidCursor('time is not an ISO 8601 time');
  if (!UUID.test(id)) throw invalidCursor('id is not a UUID');
  return encodeAscii(`${VERSION}|${time}|${id}`);
}

/** The time and id a cursor carries; `ERR_AUTHTRAIL_INVALID_QUERY` for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): { readonly time: string; readonly id: string } {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR) {
    throw invalidCursor('not a cursor');
  }
  const text = decodeAscii(cursor);
  if (text === undefined) throw invalidCursor('not base64url');
  const fields = text.split('|');
  if (fields.length !== 3 || fields[0] !== VERSION) throw invalidCursor('unknown format');
  const [, time, id] = fields as [string, string, string];
  if (!isIsoTime(time)) throw invalidCursor('time is not an ISO 8601 time');
  if (!UUID.test(id)) throw invalidCursor('id is not a UUID');
  return { time, id };
}

/**
 * The condition that continues a listing in {@link pageOrder}`(order)` after the row `cursor` points at, or
 * `TRUE` for the first page (no cursor). A row-value comparison, so PostgreSQL walks a (time, id)
 * index from the cursor instead of skipping an OFFSET's worth of rows.
 *
 * @example
 * ```ts
 * const q = compileQuery(text);
 * const page = pageClause(cursor, { firstParam: q.params.length + 1 });
 * const sql = `SELECT * FROM events WHERE ${q.where} AND ${page.where} ORDER BY ${PAGE_ORDER} LIMIT 100`;
 * const rows = (await client.query(sql, [...q.params, ...page.params])).rows;
 * const next = rows.length === 100 ? encodeCursor(rows[99]) : undefined;
 * ```
 */
export function pageClause(cursor: string | undefined, options?: PageOptions): CompiledQuery {
  const first = firstParamOf(options);
  const order = options?.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new AuthtrailError('ERR_AUTHTRAIL_INVALID_OPTIONS', 'authtrail: invalid options: order', [
      {
        path: 'order',
        received: typeof order,
        fix: "use 'asc' or 'desc', as in the statement's ORDER BY",
      },
    ]);
  }
  if (cursor === undefined) return { where: 'TRUE', params: [] };
  const { time, id } = decodeCursor(cursor);
  const after = order === 'asc' ? '>' : '<';
  return {
    where: `(time, id) ${after} ($${first}::timestamptz, $${first + 1}::uuid)`,
    params: [time, id],
  };
}
