import { EVENT_COLUMNS, ROLLUP_COLUMNS, dayOf, type EventRow } from '@authtrail/store';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

/**
 * A part of a batch as either way in takes it: each event's typed columns (`id` as stored), its
 * JSON text, and its time as PostgreSQL stores it ({@link storedTimeMs}).
 */
export interface Rows {
  readonly rows: EventRow[];
  readonly json: string[];
  readonly times: number[];
}

const HOUR_MS = 3_600_000;
// A fraction of a second that PostgreSQL, keeping microseconds and rounding the rest, carries
// into the next second.
const CARRIES = /\.9{6}[5-9]/;

/**
 * The instant of an event time in milliseconds, as PostgreSQL stores it: `Date.parse` drops what is
 * past the millisecond, PostgreSQL rounds what is past the microsecond, so `10:59:59.9999996Z` is
 * 11:00:00 there. The day (partition) and the hour (rollup) are taken from this.
 */
export function storedTimeMs(time: string): number {
  const ms = Date.parse(time);
  // Only a carry into the next second can change the day or the hour.
  return CARRIES.test(time) ? Math.floor(ms / 1000) * 1000 + 1000 : ms;
}

// COPY's text format: a tab between columns, a newline after a row, \N for NULL, and a backslash
// before a backslash; a newline, carriage return or tab inside a value as \n, \r, \t. Every other
// character (non-ASCII included) goes as its UTF-8 bytes.
const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeChar = (c: string) => ESCAPED[c]!;

function field(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIALS, escapeChar) : value;
}

/**
 * The rows of `part` in COPY's text format, one text a UTC day (a partition), days in order and
 * rows in id order within a day: the order the INSERT statement inserts them in (see
 * `insertOrder`), so that two inserts sharing events wait for each other on the first shared one
 * instead of deadlocking. A COPY into the partitioned table buffers rows a partition and inserts
 * each buffer in turn, so one COPY spanning days would not keep that order: hence a COPY a day.
 * PostgreSQL orders a uuid by its bytes, which is the order of its lower-case text.
 */
export function copyTexts(part: Rows): Buffer[] {
  const { rows, json, times } = part;
  const days = times.map(dayOf);
  const keys = rows.map((row) => row[0].toLowerCase());
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => days[a]! - days[b]! || (keys[a]! < keys[b]! ? -1 : 1));
  const texts: Buffer[] = [];
  let lines: string[] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const row = rows[i]!;
    let line = field(row[0]);
    for (let c = 1; c < row.length; c++) line += '\t' + field(row[c]!);
    // JSON text holds no raw newline, carriage return or tab (JSON.stringify escapes them), but
    // every escape it wrote starts with a backslash.
    const text = json[i]!;
    lines.push(`${line}\t${text.includes('\\') ? text.replace(/\\/g, '\\\\') : text}\n`);
    if (k === order.length - 1 || days[order[k + 1]!] !== days[i]) {
      texts.push(Buffer.from(lines.join(''), 'utf8'));
      lines = [];
    }
  }
  return texts;
}

/**
 * The ORDER BY of the INSERT statement: the UTC day (the partition), then the id, as
 * {@link copyTexts} orders its rows.
 */
export const insertOrder = "(time AT TIME ZONE 'UTC')::date, id";

// Where each rollup column sits in an event row.
const AT = ROLLUP_COLUMNS.map(([name]) => EVENT_COLUMNS.findIndex(([n]) => n === name));

/**
 * The source rows the rollup statement ({@link rollupFrom}) adds, counted here: one a UTC hour and
 * combination of the rollup's columns, with the events of the part in it. The server then upserts
 * a few dozen rows instead of grouping the batch.
 */
export function rollupValues(part: Rows): unknown[] {
  const groups = new Map<string, { hour: number; row: EventRow; n: number }>();
  const { rows, times } = part;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const ms = times[i]!;
    const hour = ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
    // The rollup's own key: each value ('' for NULL) and a bit a NULL, so NULL and '' count apart.
    // No value holds a NUL (eventRow replaced them), so NUL separates them unambiguously.
    let key = String(hour);
    let nulls = 0;
    for (let c = 0; c < AT.length; c++) {
      const value = row[AT[c]!];
      if (value === null) nulls |= 1 << c;
      key += `\0${value ?? ''}`;
    }
    key += `\0${nulls}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { hour, row, n: 1 });
    else group.n++;
  }
  const values: unknown[][] = [[], ...AT.map(() => []), []];
  for (const { hour, row, n } of groups.values()) {
    values[0]!.push(new Date(hour).toISOString());
    for (let c = 0; c < AT.length; c++) values[c + 1]!.push(row[AT[c]!]);
    values[AT.length + 1]!.push(n);
  }
  return values;
}

/** The relation {@link rollupValues} fills, for `rollupUpsertSql(s, rollupFrom, 'sum(n)')`. */
export const rollupFrom = `ROWS FROM (unnest($1::timestamptz[]), ${ROLLUP_COLUMNS.map(
  ([, type], i) => `unnest($${i + 2}::${type}[])`,
).join(', ')}, unnest($${ROLLUP_COLUMNS.length + 2}::bigint[])) AS r (time, ${ROLLUP_COLUMNS.map(
  ([name]) => name,
).join(', ')}, n)`;

/**
 * Sends `data` to a `COPY ... FROM STDIN` and resolves once the server has taken every row. One
 * write, then `end()` only if no error came first: pg-copy-streams drops its connection on an
 * error, and ending it then would write on nothing.
 */
function copyIn(client: pg.PoolClient, sql: string, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = client.query(copyStreams.from(sql));
    let failed = false;
    stream.on('error', (error) => {
      failed = true;
      reject(error);
    });
    stream.on('finish', () => resolve());
    stream.write(data, () => {
      if (!failed) stream.end();
    });
  });
}

/** The SQL of the COPY way in: the COPY, the rollup's upsert, and the INSERT for a batch holding a stored event. */
export interface CopySql {
  readonly copy: string;
  readonly rollup: string;
  readonly insert: string;
}

/**
 * Inserts `part` with COPY and adds it to the rollup in one transaction on one connection:
 * `inserted` is the part's size, since COPY stores every row or none. A part holding an event
 * already stored (a retry, a replayed spill: 23505) is rolled back and goes through the INSERT
 * ... ON CONFLICT DO NOTHING statement (`insertValues`), which skips and counts nothing for it.
 * Any other error rolls back and rejects with pg's error; a connection that broke is not reused.
 */
export async function copyInsert(
  pool: pg.Pool,
  sql: CopySql,
  part: Rows,
  insertValues: (part: Rows) => unknown[],
): Promise<number> {
  const client = await pool.connect();
  // A connection lost while this holds the client is reported here too (and to the COPY): unheard,
  // the client's error event would crash the app.
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      for (const text of copyTexts(part)) await copyIn(client, sql.copy, text);
    } catch (error) {
      if ((error as { code?: unknown }).code !== '23505') throw error;
      await client.query('ROLLBACK');
      const { rows } = await client.query<{ n: number }>(sql.insert, insertValues(part));
      return rows[0]!.n;
    }
    await client.query(sql.rollup, rollupValues(part));
    await client.query('COMMIT');
    return part.rows.length;
  } catch (error) {
    await client.query('ROLLBACK').catch((failed: Error) => {
      broken ??= failed;
    });
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
