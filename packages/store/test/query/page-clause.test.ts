import fc from 'fast-check';
import {
  decodeCursor,
  encodeCursor,
  pageClause,
  pageOrder,
  PAGE_ORDER,
} from '../../src/query/index.js';

const ID = '0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';

function thrown(fn: () => unknown): Error & { code?: string; issues?: unknown[] } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string; issues?: unknown[] };
  }
  throw new Error('expected a throw');
}

describe('pageClause', () => {
  test('is TRUE with no parameters for the first page', () => {
    expect(pageClause(undefined, { firstParam: 4 })).toEqual({ where: 'TRUE', params: [] });
  });

  test('continues after the cursor row in (time, id) order, numbered from firstParam', () => {
    const cursor = encodeCursor({ time: new Date('2026-12-07T10:42:00.123Z'), id: ID });
    expect(pageClause(cursor, { firstParam: 3 })).toEqual({
      where: '(time, id) < ($3::timestamptz, $4::uuid)',
      params: ['2026-12-07T10:42:00.123Z', ID],
    });
    expect(pageClause(cursor).where).toBe('(time, id) < ($1::timestamptz, $2::uuid)');
  });

  test("continues an ascending listing with order: 'asc', and names each order's ORDER BY", () => {
    const cursor = encodeCursor({ time: '2026-12-07T10:42:00Z', id: ID });
    expect(pageClause(cursor, { order: 'asc' }).where).toBe(
      '(time, id) > ($1::timestamptz, $2::uuid)',
    );
    expect(pageOrder('asc')).toBe('time ASC, id ASC');
    expect(pageOrder()).toBe(PAGE_ORDER);
    expect(PAGE_ORDER).toBe('time DESC, id DESC');
  });

  test('refuses an order other than asc or desc with ERR_AUTHTRAIL_INVALID_OPTIONS', () => {
    const error = thrown(() => pageClause(undefined, { order: 'up' as 'asc' }));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues).toEqual([expect.objectContaining({ path: 'order' })]);
  });

  test('round-trips a time with microseconds and an offset, and an upper-case id', () => {
    const cursor = encodeCursor({ time: '2026-02-28T23:59:59.999999+05:30', id: ID.toUpperCase() });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ time: '2026-02-28T23:59:59.999999+05:30', id: ID });
  });

  test.each([
    ['an empty string', ''],
    ['a non-base64url character', 'MXwy+DI2'],
    ['an impossible length', 'MXwyM'],
    ['a cursor too long', 'A'.repeat(200)],
    ['another format', btoa(`2|2026-12-07T10:42:00Z|${ID}`).replace(/=+$/, '')],
    [
      'SQL in the time',
      btoa(`1|2026-12-07T10:42:00Z'); DROP TABLE events; --|${ID}`).replace(/=+$/, ''),
    ],
    ['February 30th', btoa(`1|2026-02-30T10:42:00Z|${ID}`).replace(/=+$/, '')],
    ['hour 24', btoa(`1|2026-02-03T24:00:00Z|${ID}`).replace(/=+$/, '')],
    ['a non-UUID id', btoa('1|2026-12-07T10:42:00Z|x').replace(/=+$/, '')],
    ['an extra field', btoa(`1|2026-12-07T10:42:00Z|${ID}|x`).replace(/=+$/, '')],
    ['non-ASCII bytes', 'w6k'],
    [
      'a second spelling (non-zero trailing bits)',
      `${encodeCursor({ time: '2026-12-07T10:42:00Z', id: ID }).slice(0, -1)}x`,
    ],
    ['a number', 42 as unknown as string],
  ])('refuses %s with ERR_AUTHTRAIL_INVALID_QUERY, never SQL', (_, cursor) => {
    const error = thrown(() => pageClause(cursor));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
    expect(error.message).toMatch(
      /^authtrail: invalid page cursor: .+; use the cursor of the previous page as given$/,
    );
  });

  test('encodeCursor refuses a row that is not a time and a UUID', () => {
    expect(thrown(() => encodeCursor({ time: 'yesterday', id: ID })).code).toBe(
      'ERR_AUTHTRAIL_INVALID_QUERY',
    );
    expect(thrown(() => encodeCursor({ time: new Date(0), id: 'x' })).code).toBe(
      'ERR_AUTHTRAIL_INVALID_QUERY',
    );
  });

  test('decodes every cursor it encodes, and base64url agrees with the platform codec', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        fc.uuid(),
        (time, id) => {
          const cursor = encodeCursor({ time, id });
          expect(decodeCursor(cursor)).toEqual({ time: time.toISOString(), id });
          expect(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))).toBe(
            `1|${time.toISOString()}|${id}`,
          );
        },
      ),
    );
  });

  test('refuses any random string that is not a cursor it made', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (text) => {
        try {
          const page = pageClause(text);
          // Only a well-formed cursor passes; its values are then a time and a UUID, as params.
          expect(page.where).toBe('(time, id) < ($1::timestamptz, $2::uuid)');
          expect(
            encodeCursor({ time: page.params[0] as string, id: page.params[1] as string }),
          ).toBe(text);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
