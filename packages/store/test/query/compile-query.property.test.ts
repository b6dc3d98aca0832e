import fc from 'fast-check';
import { compileQuery, QUERY_FIELDS } from '../../src/query/index.js';

// Everything a compiled `where` may be made of: the columns, the SQL words and operators the
// compiler writes, and placeholders. Anything else (a quote, a digit outside a placeholder, a word
// from the query) would mean input text reached the SQL.
const WORDS = new Set([
  'id',
  'time',
  'type',
  'outcome',
  'reason',
  'user_id',
  'user_hash',
  'client_id',
  'source_ip',
  'flow_id',
  'token_fp',
  'service',
  'instance',
  'route',
  'status',
  'trace_id',
  'AND',
  'OR',
  'IS',
  'NOT',
  'TRUE',
  'NULL',
  'LIKE',
  'BETWEEN',
]);
const SQL_TOKEN = /\s+|\$(\d+)(?:::(?:inet|uuid))?|[a-z_]+|[A-Z]+|<<=|<=|>=|<|>|=|\(|\)/y;

/** Fails unless `where` is made only of allowed tokens and its placeholders are exactly $first..$(first+n-1). */
function expectOnlySql(where: string, paramCount: number, first: number): void {
  const seen = new Set<number>();
  SQL_TOKEN.lastIndex = 0;
  while (SQL_TOKEN.lastIndex < where.length) {
    const at = SQL_TOKEN.lastIndex;
    const m = SQL_TOKEN.exec(where);
    if (m === null) throw new Error(`unexpected SQL at ${at}: ${where.slice(at, at + 20)}`);
    if (m[1] !== undefined) seen.add(Number(m[1]));
    else if (/^[A-Za-z_]+$/.test(m[0]) && !WORDS.has(m[0]))
      throw new Error(`unexpected word ${m[0]}`);
  }
  expect([...seen].sort((a, b) => a - b)).toEqual(
    Array.from({ length: paramCount }, (_, i) => first + i),
  );
}

const hostileValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    "x' OR 1=1 --",
    "'; DROP TABLE events; --",
    '$1',
    '\\',
    '"',
    '*',
    '%',
    '_',
    ')',
    '(',
    '::inet',
  ),
);
const field = fc.oneof(fc.constantFrom(...QUERY_FIELDS), fc.string({ maxLength: 8 }));
// Query-shaped input: terms with hostile values, quoted or bare, joined by operators and brackets.
const term = fc
  .tuple(fc.constantFrom('', '-', 'NOT '), field, hostileValue, fc.boolean())
  .map(([neg, f, v, quoted]) => `${neg}${f}:${quoted ? `"${v.replace(/["\\]/g, '\\$&')}"` : v}`);
const queryShaped = fc
  .array(fc.tuple(term, fc.constantFrom(' ', ' AND ', ' OR ', ' (', ') ', ' ')), { maxLength: 8 })
  .map((parts) => parts.map(([t, sep]) => t + sep).join(''));

describe('compileQuery: hostile input', () => {
  test('never lets input text into the SQL: where holds only columns, operators and placeholders', () => {
    fc.assert(
      fc.property(
        fc.oneof(queryShaped, fc.string({ unit: 'binary', maxLength: 200 })),
        fc.integer({ min: 1, max: 50 }),
        (text, first) => {
          let compiled;
          try {
            compiled = compileQuery(text, { firstParam: first });
          } catch (error) {
            const e = error as { code?: string; message: string };
            expect(e.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
            // The message is bounded and holds no raw control or bidi character, whatever the input:
            // at most two quotes of 24 characters, each escaped to at most 6, plus the fixed text.
            expect(e.message.length).toBeLessThan(512);
            expect(e.message).not.toMatch(
              // eslint-disable-next-line no-control-regex -- matching control characters is the point
              /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/,
            );
            return;
          }
          expectOnlySql(compiled.where, compiled.params.length, first);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('compiles every well-formed hostile value to a parameter holding exactly that value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('reason', 'user', 'flow', 'service'),
        fc
          .string({ unit: 'binary', minLength: 1, maxLength: 60 })
          .filter((v) => !v.includes('\u0000')),
        (name, value) => {
          // Quoted with escapes, and without wildcards (a `*` is escaped too): the value must come back
          // unchanged. Every value but one holding NUL, which PostgreSQL text cannot store.
          const q = compileQuery(`${name}:"${value.replace(/["\\*]/g, '\\$&')}"`);
          expectOnlySql(q.where, 1, 1);
          expect(q.params).toEqual([value]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
