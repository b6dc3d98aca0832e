// The `detection` field's rules, as every reader of the trail can check them: the schema package's
// own build (imported by name), no Node.js API involved.
import {
  DETECTION_SEVERITIES,
  detectionProblems,
  isDetectorName,
  type DetectionInfo,
} from '@authtrail/schema';

const VALID: DetectionInfo = {
  detector: 'brute_force',
  key: 'Zm9vYmFyLWtleWVkLWhhc2g',
  severity: 'high',
  count: 10,
  threshold: 10,
  window_s: 900,
  first: '01938f5e-6b00-7000-8000-0000000000a1',
  last: '01938f5e-79f0-7000-8000-0000000000aa',
  first_time: '2025-01-02T02:59:31.004Z',
};

/** The detection with `field` set to `value` (removed when `value` is undefined). */
function withField(field: string, value: unknown): Record<string, unknown> {
  const d: Record<string, unknown> = { ...VALID };
  if (value === undefined) delete d[field];
  else d[field] = value;
  return d;
}

describe('detectionProblems(detection)', () => {
  test('finds nothing wrong with a full detection, one with its required fields only, or any severity', () => {
    expect(detectionProblems(VALID)).toEqual([]);
    const required = withField('window_s', undefined);
    delete required.first_time;
    expect(detectionProblems(required)).toEqual([]);
    expect(DETECTION_SEVERITIES).toEqual(['low', 'medium', 'high', 'critical']);
    for (const severity of DETECTION_SEVERITIES)
      expect(detectionProblems({ ...VALID, severity })).toEqual([]);
    // The bounds themselves are inside.
    expect(
      detectionProblems({
        ...VALID,
        detector: `a${'_9'.repeat(31)}b`,
        key: 'A'.repeat(128),
        count: 0,
        threshold: 2_147_483_647,
        window_s: 366 * 86_400,
        first: VALID.first.toUpperCase(),
        first_time: '2025-01-02T08:29:31+05:30',
      }),
    ).toEqual([]);
    expect(detectionProblems({ ...VALID, key: 'A'.repeat(16), window_s: 1 })).toEqual([]);
  });

  const REFUSED: [string, unknown, string][] = [
    [
      'detector',
      undefined,
      'detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received nothing)',
    ],
    [
      'detector',
      'Brute_Force',
      'detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received a string of 11 characters)',
    ],
    [
      'detector',
      `a${'b'.repeat(64)}`,
      'detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received a string of 65 characters)',
    ],
    [
      'detector',
      '',
      'detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received a string of 0 characters)',
    ],
    [
      'detector',
      7,
      'detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received number 7)',
    ],
    [
      'key',
      'alice@example.com',
      'detection.key is not a keyed hash in base64url of 16 to 128 characters (received a string of 17 characters)',
    ],
    [
      'key',
      'c2hvcnQ',
      'detection.key is not a keyed hash in base64url of 16 to 128 characters (received a string of 7 characters)',
    ],
    [
      'key',
      'A'.repeat(129),
      'detection.key is not a keyed hash in base64url of 16 to 128 characters (received a string of 129 characters)',
    ],
    [
      'key',
      'Zm9vYmFyLWtleWVkLWhhc2g=',
      'detection.key is not a keyed hash in base64url of 16 to 128 characters (received a string of 24 characters)',
    ],
    [
      'severity',
      'urgent',
      'detection.severity is not one of low, medium, high, critical (received a string of 6 characters)',
    ],
    [
      'severity',
      'HIGH',
      'detection.severity is not one of low, medium, high, critical (received a string of 4 characters)',
    ],
    ['count', -1, 'detection.count is not an integer from 0 to 2147483647 (received number -1)'],
    ['count', 2.5, 'detection.count is not an integer from 0 to 2147483647 (received number 2.5)'],
    [
      'count',
      '10',
      'detection.count is not an integer from 0 to 2147483647 (received a string of 2 characters)',
    ],
    [
      'count',
      2_147_483_648,
      'detection.count is not an integer from 0 to 2147483647 (received number 2147483648)',
    ],
    [
      'count',
      Number.NaN,
      'detection.count is not an integer from 0 to 2147483647 (received number NaN)',
    ],
    [
      'threshold',
      undefined,
      'detection.threshold is not an integer from 0 to 2147483647 (received nothing)',
    ],
    [
      'threshold',
      Infinity,
      'detection.threshold is not an integer from 0 to 2147483647 (received number Infinity)',
    ],
    ['window_s', 0, 'detection.window_s is not an integer from 1 to 31622400 (received number 0)'],
    [
      'window_s',
      0.5,
      'detection.window_s is not an integer from 1 to 31622400 (received number 0.5)',
    ],
    [
      'window_s',
      31_622_401,
      'detection.window_s is not an integer from 1 to 31622400 (received number 31622401)',
    ],
    ['window_s', null, 'detection.window_s is not an integer from 1 to 31622400 (received null)'],
    [
      'first',
      'evt-1',
      'detection.first is not an event id (a UUID) (received a string of 5 characters)',
    ],
    ['first', undefined, 'detection.first is not an event id (a UUID) (received nothing)'],
    [
      'last',
      `${VALID.last}\n`,
      'detection.last is not an event id (a UUID) (received a string of 37 characters)',
    ],
    ['last', { id: VALID.last }, 'detection.last is not an event id (a UUID) (received an object)'],
    [
      'first_time',
      '2025-01-02 02:59:31',
      'detection.first_time is not an ISO-8601 time with a zone (received a string of 19 characters)',
    ],
    [
      'first_time',
      '2025-13-45T99:99:99Z',
      'detection.first_time is not an ISO-8601 time with a zone (received a string of 20 characters)',
    ],
    [
      'first_time',
      1735786771004,
      'detection.first_time is not an ISO-8601 time with a zone (received number 1735786771004)',
    ],
  ];

  test.each(REFUSED)(
    'refuses detection.%s = %p, naming the field and what it must be',
    (field, value, problem) => {
      expect(detectionProblems(withField(field, value))).toEqual([problem]);
    },
  );

  test('refuses what is not an object, and fields it does not know, listing every problem at once', () => {
    for (const [value, shown] of [
      [null, 'null'],
      [undefined, 'nothing'],
      ['brute_force', 'a string of 11 characters'],
      [[VALID], 'an array'],
    ] as const)
      expect(detectionProblems(value)).toEqual([`detection is not an object (received ${shown})`]);
    expect(detectionProblems({ ...VALID, raw: 'alice', ip: '203.0.113.7' })).toEqual([
      'detection has 2 fields other than detector, key, severity, count, threshold, window_s, first, last, first_time',
    ]);
    expect(detectionProblems({ detector: 'brute_force' })).toHaveLength(6);
  });

  test('never repeats what it received: a raw account name or a hostile string stays out of the messages', () => {
    const raw = 'alice.smith@example.com';
    const hostile = `x\x1b[2J\n\u202eforged`;
    const text = detectionProblems({
      ...VALID,
      key: raw,
      detector: hostile,
      severity: hostile,
      first: raw,
      [hostile]: 1,
    }).join(' ');
    expect(text).not.toContain('alice');
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(text).not.toMatch(/[\x00-\x1f\u202e]/);
    expect(text).not.toContain('forged');
  });
});

describe('isDetectorName(name)', () => {
  test('takes lower-case snake_case names of up to 64 characters, and refuses hostile ones', () => {
    for (const name of ['brute_force', 'x', 'credential_stuffing_2', `a${'0'.repeat(63)}`])
      expect(isDetectorName(name)).toBe(true);
    for (const name of [
      '',
      '_brute',
      '1brute',
      'Brute',
      'brute-force',
      'brute.force',
      'brute force',
      `a${'0'.repeat(64)}`,
      'brute\nforce',
      'brute_force\n',
      '\x1b[31mbrute',
      'brute\u202eforce',
      'bruté',
      'brute\u0430', // a Cyrillic "a"
      '__proto__',
      'constructor ',
      undefined,
      null,
      42,
      ['brute_force'],
    ])
      expect(isDetectorName(name)).toBe(false);
  });
});
