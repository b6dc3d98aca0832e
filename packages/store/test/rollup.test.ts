// When a count may come from the hourly rollup, and how a range splits between the rollup's whole
// hours and the events of the part hours at its edges. (That its answers equal a scan is shown on
// PostgreSQL in packages/store-postgres/test/rollup.test.ts.)
import { compileQuery } from '../src/query/index.js';
import { rollupCovers, wholeHours } from '../src/rollup.js';

describe('rollupCovers', () => {
  test.each([
    ['outcome:failure', 'outcome'],
    ['type:authn.* -reason:idp_error', 'type'],
    ['status:>=500 OR (client:web-* service:orders)', 'status'],
    ['-instance:* reason:*', undefined],
    ['', 'client'],
  ] as const)('answers %j split by %s from the rollup, at 1h and 1d', (q, by) => {
    for (const interval of ['1h', '1d'] as const)
      expect(rollupCovers({ interval, by, where: compileQuery(q) })).toBe(true);
  });

  test('scans for buckets under an hour', () => {
    for (const interval of ['1m', '5m', '15m'] as const)
      expect(rollupCovers({ interval, by: 'outcome' })).toBe(false);
  });

  test.each([
    'user:alice',
    'ip:10.0.0.0/8',
    'route:/api/*',
    'flow:f1',
    'token:x',
    'trace:t',
    'status:500 user:bob',
  ])('scans for a filter on a column the rollup lacks: %s', (q) => {
    expect(rollupCovers({ interval: '1h', where: compileQuery(q) })).toBe(false);
  });

  test('scans when split by a column the rollup lacks', () => {
    for (const by of ['user', 'ip', 'route'] as const)
      expect(rollupCovers({ interval: '1h', by })).toBe(false);
  });

  test('scans for a hand-written filter it cannot read: a function, a literal, a cast, time', () => {
    for (const where of [
      'lower(type) = $1',
      "reason = 'x'",
      'status::text = $1',
      'time > $1',
      'type = $1; DROP TABLE x',
    ])
      expect(rollupCovers({ interval: '1h', where: { where, params: ['x'] } })).toBe(false);
    expect(rollupCovers({ interval: '1h', where: { where: 'reason = $1', params: [''] } })).toBe(
      true,
    );
  });
});

describe('wholeHours', () => {
  const at = (iso: string) => new Date(iso);
  test('keeps a range on the hour as it is, open sides open', () => {
    expect(wholeHours(at('2026-03-01T10:00:00Z'), at('2026-03-02T00:00:00Z'))).toEqual({
      from: at('2026-03-01T10:00:00Z'),
      to: at('2026-03-02T00:00:00Z'),
    });
    expect(wholeHours(undefined, undefined)).toEqual({ from: undefined, to: undefined });
  });

  test('narrows a range off the hour to the whole hours inside it', () => {
    expect(wholeHours(at('2026-03-01T10:00:00.001Z'), at('2026-03-01T12:59:59.999Z'))).toEqual({
      from: at('2026-03-01T11:00:00Z'),
      to: at('2026-03-01T12:00:00Z'),
    });
  });

  test('has none when the range holds no whole hour', () => {
    expect(wholeHours(at('2026-03-01T10:10:00Z'), at('2026-03-01T10:50:00Z'))).toBeUndefined();
    expect(wholeHours(at('2026-03-01T10:10:00Z'), at('2026-03-01T11:50:00Z'))).toBeUndefined();
  });
});
