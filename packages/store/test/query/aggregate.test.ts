import { BUCKET_INTERVALS, bucketExpr, GROUP_FIELDS, groupField } from '../../src/query/index.js';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('bucketExpr', () => {
  test.each([
    ['1m', '1 minute'],
    ['5m', '5 minutes'],
    ['15m', '15 minutes'],
    ['1h', '1 hour'],
    ['1d', '1 day'],
  ] as const)('bins %s buckets from a fixed UTC origin with date_bin', (interval, width) => {
    expect(bucketExpr(interval)).toBe(
      `date_bin('${width}', time, TIMESTAMPTZ '2000-01-01 00:00:00+00')`,
    );
  });

  test.each(['2m', '1H', "1h'); DROP TABLE events; --", 'toString', '__proto__', ''])(
    'refuses %j with ERR_AUTHTRAIL_INVALID_QUERY listing the intervals',
    (interval) => {
      const error = thrown(() => bucketExpr(interval as '1h'));
      expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
      expect(error.message).toContain(`use one of ${BUCKET_INTERVALS.join(', ')}`);
      // Quoted, truncated to 24 characters: a long payload is not repeated whole.
      if (interval.length > 24) expect(error.message).not.toContain(interval);
    },
  );
});

describe('groupField', () => {
  test.each([
    ['type', 'type'],
    ['outcome', 'outcome'],
    ['reason', 'reason'],
    ['user', 'COALESCE(user_id, user_hash)'],
    ['client', 'client_id'],
    ['ip', 'source_ip'],
    ['flow', 'flow_id'],
    ['token', 'token_fp'],
    ['service', 'service'],
    ['instance', 'instance'],
    ['route', 'route'],
    ['status', 'status'],
  ] as const)('maps %s to %s', (field, column) => {
    expect(groupField(field)).toBe(column);
  });

  test.each([
    'trace',
    'id',
    'user_id',
    'client_id',
    'type; DROP TABLE events',
    'constructor',
    'TYPE',
  ])('refuses %j with ERR_AUTHTRAIL_INVALID_QUERY listing the fields', (name) => {
    const error = thrown(() => groupField(name as 'type'));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
    expect(error.message).toContain(`use one of ${GROUP_FIELDS.join(', ')}`);
  });
});
