import { AuthtrailError } from '@authtrail/schema';

// How much of the offending text a message may quote: enough to recognise it, too little to carry a
// payload (the message reaches logs and terminals).
const MAX_QUOTE = 24;

/** An `ERR_AUTHTRAIL_INVALID_QUERY` error; `position` is set when the problem is in a query's text. */
export class QueryError extends AuthtrailError {
  constructor(message: string, position?: number) {
    super('ERR_AUTHTRAIL_INVALID_QUERY', message);
    // An own property only when there is a position (the base class declares it optional).
    if (position !== undefined) {
      Object.defineProperty(this, 'position', { value: position, enumerable: true });
    }
  }
}

/**
 * `text` as it may appear in a message: at most {@link MAX_QUOTE} characters, in double quotes,
 * with control characters, line separators and bidirectional overrides escaped, so hostile input
 * can neither forge a log line nor reorder what a terminal shows.
 */
export function quote(text: string): string {
  const cut = text.length > MAX_QUOTE ? text.slice(0, MAX_QUOTE) : text;
  const escaped = cut.replace(
    // C0, DEL and C1 controls, the quote and backslash, U+2028/2029, bidi embeddings and isolates,
    // and lone surrogates (a log's UTF-8 encoder would replace them, or refuse the line).
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f"\\\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) =>
      c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}${text.length > MAX_QUOTE ? '…' : ''}"`;
}

/** A parse error at a 1-based column of the query. */
export function errorAt(position: number, problem: string): QueryError {
  return new QueryError(`authtrail: invalid query at ${position}: ${problem}`, position);
}
