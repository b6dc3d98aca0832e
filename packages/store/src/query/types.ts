/**
 * A query compiled to SQL: `where` is a PostgreSQL boolean expression over the `events` table's
 * columns whose only variable parts are the placeholders `$n..$m`, numbered from the `firstParam`
 * it was compiled with; `params` holds their values in order (`params[0]` is `$firstParam`). No
 * value from the query's text is ever part of `where`.
 */
export interface CompiledQuery {
  readonly where: string;
  readonly params: readonly unknown[];
}

/** Where a compiled fragment's placeholders start, so it can be joined to a statement's own. */
export interface PlaceholderOptions {
  /**
   * The number of the fragment's first placeholder: with `firstParam: 3` the first value is `$3`.
   * @default 1
   */
  readonly firstParam?: number;
}

/** Options of `pageClause`: where its placeholders start, and which way the listing runs. */
export interface PageOptions extends PlaceholderOptions {
  /**
   * `'desc'` continues a `time DESC, id DESC` listing (newest first), `'asc'` a `time ASC, id ASC`
   * one; {@link PageOptions.order} must match the statement's ORDER BY (`pageOrder(order)`).
   * @default 'desc'
   */
  readonly order?: 'asc' | 'desc';
}

/** The fields the query language knows, in the order error messages list them. */
export type QueryField =
  | 'type'
  | 'outcome'
  | 'reason'
  | 'user'
  | 'client'
  | 'ip'
  | 'flow'
  | 'token'
  | 'service'
  | 'instance'
  | 'route'
  | 'status'
  | 'trace'
  | 'id';

/** The widths a time histogram's buckets can have. */
export type BucketInterval = '1m' | '5m' | '15m' | '1h' | '1d';

/** What a page cursor carries: the last row of the previous page, in `time DESC, id DESC` order. */
export interface PageCursor {
  /** The row's event time: a `Date`, or an ISO 8601 string with up to 6 fractional digits. */
  readonly time: Date | string;
  /** The row's event id, a UUID. */
  readonly id: string;
}
