// The `pretty` format: one readable line per event on a developer's terminal, coloured only on a
// TTY without NO_COLOR, and inert whatever the event's fields hold. Events go through a real
// auditor into stdoutSink / memorySink, and the bytes written are read back.
/* eslint-disable no-control-regex -- the tests look for control characters */
import { PassThrough } from 'node:stream';
import {
  callbackSink,
  createAuditor,
  fileSink,
  httpSink,
  memorySink,
  prettyLine,
  stdoutSink,
  type AuditEvent,
  type ManualEvent,
} from '@authtrail/core';
import { FULL_DETECTION } from './full-event.js';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const ESC = '\x1b';

const prettyBase = {
  schema: 1,
  id: '01938f5e-7a00-7000-8000-000000000001',
  time: '2025-01-02T03:04:05.678Z',
  observer: { role: 'rp', service: 'shop', instance: 'h/1', adapter: 'express' },
} as const;

const LOGIN_FAILURE: ManualEvent = {
  type: 'api.authn.failure',
  reason: 'token_expired',
  error: { code: 'invalid_token' },
  user: { id: 'alice' },
  client: { id: 'mobile' },
  http: { method: 'GET', path: '/items', status: 401, duration_ms: 3.24 },
};

/** A stream that says it is (or is not) a terminal, and everything written to it. */
function terminal(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let out = '';
  stream.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return { stream, output: () => out };
}

/** Records `events` through a real auditor into a pretty stdout sink on `stream`. */
async function printed(stream: NodeJS.WritableStream, events: ManualEvent[]): Promise<void> {
  const auditor = createAuditor({
    service: 'shop',
    keys: KEY,
    sinks: [stdoutSink({ stream, format: 'pretty' })],
  });
  for (const event of events) auditor.record(event);
  await auditor.close();
}

/** Runs `fn` with NO_COLOR set to `value` (undefined: unset), restoring it after. */
async function withNoColor(value: string | undefined, fn: () => Promise<void>): Promise<void> {
  const saved = process.env.NO_COLOR;
  if (value === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = value;
  try {
    await fn();
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
}

describe('options', () => {
  test.each([
    ['callbackSink', () => callbackSink(() => {}, { format: 'pretty' as never })],
    ['fileSink', () => fileSink('/tmp/never-written.jsonl', { format: 'pretty' as never })],
    [
      'httpSink',
      () => httpSink('https://collector.example.com/audit', { format: 'pretty' as never }),
    ],
  ])('%s, whose output a machine reads, rejects pretty', (_name, make) => {
    expect(make).toThrow(expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }));
  });

  test('an unknown format names pretty among the valid ones of stdoutSink', () => {
    expect(() => stdoutSink({ format: 'prety' as never })).toThrow(
      "use one of 'native', 'ecs', 'ocsf', 'pretty'",
    );
  });
});

describe('stdoutSink({ format: "pretty" })', () => {
  test('writes one line per event: time, outcome, type, reason, user, client, request and duration', async () => {
    const { stream, output } = terminal(false);
    await withNoColor(undefined, () =>
      printed(stream, [LOGIN_FAILURE, { type: 'authn.logout.success', user: { id: 'bob' } }]),
    );
    const lines = output().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}Z failure {2}api\.authn\.failure reason=token_expired error=invalid_token user=alice client=mobile GET \/items -> 401 3\.2ms$/,
    );
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z success {2}authn\.logout\.success user=bob$/);
    // Not a terminal: no escape sequence at all, even without NO_COLOR.
    expect(output()).not.toContain(ESC);
  });

  test('colours only a TTY, and not when NO_COLOR is set', async () => {
    const tty = terminal(true);
    await withNoColor(undefined, () => printed(tty.stream, [LOGIN_FAILURE]));
    expect(tty.output()).toContain(`${ESC}[31mfailure `);
    expect(tty.output()).toContain(`${ESC}[1mapi.authn.failure${ESC}[0m`);

    const noColor = terminal(true);
    await withNoColor('1', () => printed(noColor.stream, [LOGIN_FAILURE]));
    expect(noColor.output()).not.toContain(ESC);
    expect(noColor.output()).toContain('failure  api.authn.failure reason=token_expired');
  });

  // record() already strips control characters from what it is given, so this event is written
  // to the sink directly: the format must be safe on its own, whatever reaches it.
  test('escapes control characters, escapes and direction overrides in fields: hostile data stays inert', async () => {
    const hostile: AuditEvent = {
      schema: 1,
      id: '01938f5e-7a00-7000-8000-000000000001',
      time: '2025-01-02T03:04:05.678Z',
      type: 'authn.login.failure',
      outcome: 'failure',
      observer: { role: 'rp', service: 'shop', instance: 'h/1', adapter: 'express' },
      reason: 'state_mismatch',
      // Clear the screen, set the window title, then a newline and a forged line.
      user: {
        id: `${ESC}[2J${ESC}]0;pwned\x07eve\n12:00:00.000Z success  authn.login.success user=admin`,
      },
      client: { id: 'web\u202eppa\r\x9b31m' },
      http: { method: 'GET', path: '/cb\x1b[1A', status: 400, duration_ms: 1 },
    };
    const tty = terminal(true);
    await withNoColor(undefined, async () => {
      const sink = stdoutSink({ stream: tty.stream, format: 'pretty' });
      await sink.write({ events: [hostile], lines: () => prettyLine(hostile) + '\n' });
      await sink.flush?.();
    });
    const out = tty.output();
    expect(out.split('\n')).toEqual([expect.any(String), '']);
    // The only escape sequences written are our own colours (SGR: ESC [ n m).
    expect(out.replace(/\x1b\[\d+m/g, '')).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(out).toContain(
      'user="\\x1b[2J\\x1b]0;pwned\\x07eve\\n12:00:00.000Z success  authn.login.success user=admin"',
    );
    expect(out).toContain('client=web\\u202eppa\\r\\x9b31m');
    expect(out).toContain('GET /cb\\x1b[1A -> 400');
    // The same line, uncoloured, from prettyLine.
    expect(prettyLine(hostile)).toBe(out.replace(/\x1b\[\d+m/g, '').trimEnd());
  });

  test('a detection shows its detector, count against threshold and severity first, in yellow on a TTY', async () => {
    const detected: ManualEvent = {
      type: 'authn.bruteforce.detected',
      user: { id: 'alice' },
      source: { ip: '203.0.113.7' },
      detection: { ...FULL_DETECTION, first_time: undefined },
    };
    const pipe = terminal(false);
    await printed(pipe.stream, [detected]);
    expect(pipe.output()).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}Z detected authn\.bruteforce\.detected detector=brute_force count=10\/10 severity=high user=alice\n$/,
    );
    const tty = terminal(true);
    await withNoColor(undefined, () => printed(tty.stream, [detected]));
    expect(tty.output()).toContain(`${ESC}[33mdetected`);
  });

  test('escapes a detection read back from a file whatever it holds', () => {
    const forged = {
      ...prettyBase,
      type: 'authn.bruteforce.detected',
      outcome: 'detected',
      detection: {
        detector: `x${ESC}[2J\nforged`,
        count: '1\u202e',
        threshold: 'a b',
        severity: 'high"',
      },
    } as unknown as AuditEvent;
    const line = prettyLine(forged);
    expect(line).not.toMatch(/[\x00-\x1f\u202e]/);
    expect(line).toContain('detector=x\\x1b[2J\\nforged count="1\\u202e/a b" severity="high\\""');
  });

  test('a user id that came through record() is one line too', async () => {
    const { stream, output } = terminal(false);
    await printed(stream, [{ ...LOGIN_FAILURE, user: { id: `eve${ESC}[2J\nforged` } }]);
    expect(output().split('\n')).toEqual([expect.stringContaining('user='), '']);
    expect(output()).not.toContain(ESC);
  });
});

describe('prettyLine(event) and memorySink', () => {
  test('give the same uncoloured line the sink writes to a pipe', async () => {
    const sink = memorySink({ format: 'pretty' });
    const auditor = createAuditor({ service: 'shop', keys: KEY, sinks: [sink] });
    auditor.record(LOGIN_FAILURE);
    await auditor.close();
    expect(sink.text()).toBe(prettyLine(sink.events[0]!) + '\n');
    expect(sink.text()).toContain('failure  api.authn.failure reason=token_expired');
  });
});
