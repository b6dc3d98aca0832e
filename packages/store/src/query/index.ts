// The query language of the store: pure TypeScript, no Node.js API, so a browser (the console) can
// compile and check a query as it is typed.
export { compileQuery } from './compile-query.js';
export { matchQuery, type EventPredicate } from './match.js';
export { pageClause, pageOrder, encodeCursor, decodeCursor, PAGE_ORDER } from './page-clause.js';
export { bucketExpr, groupField, BUCKET_INTERVALS, GROUP_FIELDS } from './aggregate.js';
export { QUERY_FIELDS } from './fields.js';
export { MAX_QUERY_LENGTH, MAX_TERMS, MAX_DEPTH } from './internal/parse.js';
export type {
  CompiledQuery,
  PlaceholderOptions,
  PageOptions,
  QueryField,
  BucketInterval,
  PageCursor,
} from './types.js';
