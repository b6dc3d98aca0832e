// @authtrail/schema imports nothing, so `formatEvent` makes its own ERR_AUTHTRAIL_INVALID_OPTIONS for
// a format it does not know. It must read as core's option checks read: the same message, and what
// was received described as `shapeOf` describes it (a mistyped word shown, a secret never).
import { AuthtrailError, EVENT_FORMATS, formatEvent, type AuditEvent } from '@authtrail/schema';
import { invalidOptions, shapeOf } from '../src/errors.js';
import { fullEvent } from './full-event.js';

const SECRET = 'Pq7dK2xW9mZr4TbN8vLc3HyJ6sGf1AeQ';

function thrownBy(format: unknown): AuthtrailError {
  try {
    formatEvent(fullEvent('authn.login.success') as AuditEvent, format as 'native');
  } catch (error) {
    return error as AuthtrailError;
  }
  throw new Error(`formatEvent took ${String(format)}`);
}

test.each([
  ['xml'],
  ['Ecs-JSON'],
  [SECRET],
  [''],
  [42],
  [true],
  [null],
  [undefined],
  [{}],
  [[1, 2]],
])(
  'formatEvent(event, %p) throws the error core would, describing the value as shapeOf does',
  (format) => {
    const error = thrownBy(format);
    expect(error).toBeInstanceOf(AuthtrailError);
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues).toEqual([
      {
        path: 'formatEvent(event, format)',
        received: shapeOf(format, EVENT_FORMATS),
        fix: "use one of 'native', 'ecs', 'ocsf'",
      },
    ]);
    expect(error.message).toBe(invalidOptions(error.issues).message);
  },
);

test('a secret-like string passed as the format is described by its length, never shown', () => {
  const error = thrownBy(SECRET);
  expect(error.message).toContain('received a string of 32 characters');
  expect(JSON.stringify({ ...error, message: error.message })).not.toContain(SECRET);
});
