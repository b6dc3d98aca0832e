import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FULL_DETECTION } from './full-event.js';
import {
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type AuthtrailError,
  type AuthtrailOptions,
  type ManualEvent,
} from '@authtrail/core';

/** The bound on one native event line docs/events.md documents (its "Hostile input" section). */
const LINE_BOUND = 92_582;
const FINGERPRINT = 'manual-event-fingerprint-key-0123456789';
const PSEUDONYM = 'manual-event-pseudonym-key-0123456789ab';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authtrail-manual-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/**
 * Runs `use` with an auditor writing to a real file, closes it, and returns the lines written,
 * as bytes and parsed.
 */
async function written(
  options: AuthtrailOptions,
  use: (auditor: ReturnType<typeof createAuditor>) => void,
): Promise<Array<{ bytes: number; event: AuditEvent }>> {
  const path = join(dir, `audit-${++n}.jsonl`);
  const auditor = createAuditor({
    ...options,
    sinks: [fileSink(path)],
    keys: { fingerprint: FINGERPRINT, ...options.keys },
    delivery: { handleSignals: false },
  });
  use(auditor);
  await auditor.close();
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ bytes: Buffer.byteLength(line), event: JSON.parse(line) as AuditEvent }));
}

/** An unsigned-looking JWT: decoded (not verified) on an API request, enough to build `user`. */
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('record(): manual events follow the rules of built events', () => {
  test('with pseudonymize, a recorded user is logged as the same keyed hash a request gives, without the raw name, profile or e-mail', async () => {
    // The failed sign-in of docs/frameworks.md: the "user name" typed is often a password typed
    // in the wrong box.
    const typed = 'Tr0ub4dor&3-typed-as-name';
    const lines = await written(
      { pseudonymize: true, keys: { fingerprint: FINGERPRINT, pseudonym: PSEUDONYM } },
      (auditor) => {
        auditor.record({
          type: 'authn.login.failure',
          observer: { role: 'op' },
          reason: 'invalid_credentials',
          user: { id: typed, name: 'Alice Example', email: 'alice@example.com', roles: ['admin'] },
        });
        auditor.record({ type: 'authn.login.success', user: { id: 'alice' } });
        auditor.attach('core').observe({
          startTime: Date.now(),
          durationMs: 1,
          method: 'GET',
          url: '/api',
          status: 200,
          headers: { authorization: `Bearer ${jwt({ sub: 'alice', exp: 4e9 })}` },
        });
      },
    );
    const [failure, manual, built] = lines.map((l) => l.event);
    expect(failure!.user).toEqual({ hash: expect.stringMatching(/^[\w-]{22}$/), roles: ['admin'] });
    expect(manual!.user!.hash).toBe(built!.user!.hash);
    expect(manual!.user).toEqual({ hash: built!.user!.hash });
    const bytes = readFileSync(join(dir, `audit-${n}.jsonl`), 'utf8');
    for (const secret of [typed, 'Alice Example', 'alice@example.com', '"alice"'])
      expect(bytes).not.toContain(secret);
  });

  test('without profile, a recorded user keeps id and roles and drops name and e-mail; with profile keeps them', async () => {
    const user = { id: 'u-1', name: 'Alice', email: 'alice@example.com', login: 'alice-login' };
    const record = (a: ReturnType<typeof createAuditor>) =>
      a.record({ type: 'authn.mfa_enroll.success', user } as ManualEvent);
    const [plain] = await written({}, record);
    const [profiled] = await written({ profile: true }, record);
    expect(plain!.event.user).toEqual({ id: 'u-1' });
    expect(profiled!.event.user).toEqual({ id: 'u-1', name: 'Alice', email: 'alice@example.com' });
  });

  test('a key "__proto__\\u0007" is cleaned, then refused: it never replaces the prototype of what is logged', async () => {
    const hostile = JSON.parse(
      '{"__proto__\\u0007":{"polluted":"yes"},"ip":"192.0.2.1","nested":{"constructor\\u0000":{"prototype":{"x":1}},"prototype\\u001b":2,"ok":"kept"}}',
    ) as Record<string, unknown>;
    let returned: AuditEvent | undefined;
    const [line] = await written({}, (auditor) => {
      returned = auditor.record({ type: 'app.import.success', source: hostile } as ManualEvent);
    });
    for (const event of [returned!, line!.event]) {
      const source = event.source as Record<string, unknown>;
      expect(Object.getPrototypeOf(source)).toBe(Object.prototype);
      expect(source.polluted).toBeUndefined();
      expect(source).toEqual({ ip: '192.0.2.1', nested: { ok: 'kept' } });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a 10 MB nested manual payload gives one line within the documented bound', async () => {
    // 50 keys of 64 characters, 4 levels deep, each leaf 4 strings of 1,000 three-byte characters:
    // 10 million characters in all, and every one costs 3 bytes of JSON.
    const level = (depth: number): unknown =>
      depth === 0
        ? Array.from({ length: 4 }, () => '€'.repeat(1000))
        : Object.fromEntries(
            Array.from({ length: 50 }, (_, i) => [
              `${'k'.repeat(60)}${i}`.padEnd(64, '€'),
              level(depth - 1),
            ]),
          );
    const huge = level(2) as Record<string, unknown>; // 50 × 50 × 4 × 1,000 = 10,000,000
    const lines = await written({}, (auditor) => {
      auditor.record({
        type: 'app.import.success',
        reason: '€'.repeat(10_000_000),
        oauth: huge,
        source: huge,
        http: huge,
        trace: huge,
      } as ManualEvent);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.bytes).toBeLessThanOrEqual(LINE_BOUND);
    // Bounded, not emptied: what fits is kept, in order.
    expect(lines[0]!.event.reason).toBe('€'.repeat(512));
    expect(Object.keys(lines[0]!.event.oauth!).length).toBeGreaterThan(0);
  });

  test("a recorded http.path, route and query are redacted as a request's are", async () => {
    const token = jwt({ sub: 'alice', exp: 4e9 });
    const [line] = await written(
      { pseudonymize: true, keys: { pseudonym: PSEUDONYM } },
      (auditor) => {
        auditor.record({
          type: 'app.password_reset.success',
          http: {
            method: 'POST',
            path: `/reset-password/${token}/users/alice@example.com?code=abc#access_token=xyz`,
            route: '/reset-password/:token?access_token=cna_TDlibYSBVxfuCYBV_ZjCzm',
            query: `?code=secret-code-value&error=none`,
            status: 200,
            duration_ms: 1,
          },
        });
      },
    );
    expect(line!.event.http).toEqual({
      method: 'POST',
      path: '/reset-password/[redacted]/users/[redacted]',
      route: '/reset-password/:token',
      query: 'code=[redacted]&error=none',
      status: 200,
      duration_ms: 1,
    });
  });

  test('a reason or error.code that is not a string is left out, as formats expect codes', async () => {
    const lines = await written({}, (auditor) => {
      auditor.record({
        type: 'authn.login.failure',
        reason: { nested: 'object' } as unknown as string,
        error: { code: 42 } as unknown as { code: string },
      });
      auditor.record({
        type: 'authn.login.failure',
        reason: 'invalid_credentials',
        error: { code: 'x' },
      });
    });
    expect(lines[0]!.event).not.toHaveProperty('reason');
    expect(lines[0]!.event).not.toHaveProperty('error');
    expect(lines[1]!.event).toMatchObject({ reason: 'invalid_credentials', error: { code: 'x' } });
  });

  test('an event type that is not <category>.<action>.<outcome> throws ERR_AUTHTRAIL_INVALID_EVENT, showing a long one only by its length', async () => {
    const auditor = createAuditor({
      sinks: [memorySink()],
      keys: { fingerprint: FINGERPRINT },
      delivery: { handleSignals: false },
    });
    const thrown = (type: unknown) => {
      try {
        auditor.record({ type } as ManualEvent);
      } catch (error) {
        return error as AuthtrailError;
      }
      throw new Error('expected a throw');
    };
    expect(thrown('authn.login')).toMatchObject({
      code: 'ERR_AUTHTRAIL_INVALID_EVENT',
      message: expect.stringContaining('event type "authn.login" is not of the form'),
    });
    const long = thrown('x'.repeat(1_000_000));
    expect(long.message).toContain('event type a string of 1000000 characters is not of the form');
    expect(long.message.length).toBeLessThan(300);
    await auditor.close();
  });

  test('an event that sets schema, id, time, outcome, seq, chain or delivery is refused with ERR_AUTHTRAIL_INVALID_EVENT naming those fields, not their values, and nothing is recorded', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: FINGERPRINT },
      delivery: { handleSignals: false },
    });
    const backdated = '2020-01-01T00:00:00.000Z';
    const refused = (extra: Record<string, unknown>) => {
      try {
        auditor.record({ type: 'authn.mfa_enroll.success', ...extra } as ManualEvent);
      } catch (error) {
        return error as AuthtrailError;
      }
      throw new Error('expected a throw');
    };
    const one = refused({ time: backdated });
    expect(one.code).toBe('ERR_AUTHTRAIL_INVALID_EVENT');
    expect(one.message).toBe(
      "authtrail: record() sets time itself; leave it out (time is when the event is recorded, outcome the last word of its type; schema, id, seq, chain and delivery are the pipeline's)",
    );
    const all = refused({
      id: 'evt-1',
      time: backdated,
      outcome: 'failure',
      seq: 7,
      chain: { id: 'k', hash: 'h' },
      delivery: { sink: 's', dropped: 1 },
    });
    expect(all.message).toContain(
      'sets id, time, outcome, seq, chain, delivery itself; leave them out',
    );
    expect(all.message).not.toContain(backdated);
    // What the auditor sets is still its own when the app leaves those fields out.
    const kept = auditor.record({ type: 'authn.mfa_enroll.success' });
    await auditor.flush();
    expect(sink.events).toEqual([kept]);
    expect(kept.outcome).toBe('success');
    await auditor.close();
  });
});

describe('record(): a detection', () => {
  const DETECTION = FULL_DETECTION;

  test('on a *.detected type is written as given, its key byte for byte (never redacted or hashed again, pseudonymize on), beside the subject copied from the evidence', async () => {
    const userHash = 'KlQyxtytrW-T4t_QEIoSvg';
    const lines = await written(
      { pseudonymize: true, keys: { fingerprint: FINGERPRINT, pseudonym: PSEUDONYM } },
      (auditor) => {
        auditor.record({
          type: 'authn.bruteforce.detected',
          user: { hash: userHash },
          source: { ip: '203.0.113.7' },
          detection: DETECTION,
        });
        // The optional fields left undefined, as a detector without a window builds it.
        const required = { ...DETECTION, window_s: undefined, first_time: undefined };
        auditor.record({ type: 'api.invalid_signature.detected', detection: required });
      },
    );
    expect(lines.map((l) => l.event)).toEqual([
      expect.objectContaining({
        type: 'authn.bruteforce.detected',
        outcome: 'detected',
        user: { hash: userHash },
        source: { ip: '203.0.113.7' },
        detection: DETECTION,
      }),
      expect.objectContaining({ type: 'api.invalid_signature.detected' }),
    ]);
    expect(Object.keys(lines[1]!.event.detection!)).toEqual([
      'detector',
      'key',
      'severity',
      'count',
      'threshold',
      'first',
      'last',
    ]);
  });

  test('is copied when recorded: changing the object afterwards changes nothing logged', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: FINGERPRINT },
      delivery: { handleSignals: false },
    });
    const mine = { ...DETECTION } as { -readonly [K in keyof typeof DETECTION]: unknown };
    auditor.record({ type: 'authn.spray.detected', detection: mine as typeof DETECTION });
    mine.count = -5;
    mine.key = 'alice';
    await auditor.close();
    expect(sink.events[0]!.detection).toEqual(DETECTION);
  });

  test('that breaks the rules is refused with ERR_AUTHTRAIL_INVALID_EVENT naming every problem, never a value, and nothing is recorded', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: FINGERPRINT },
      delivery: { handleSignals: false },
    });
    const refused = (event: unknown) => {
      try {
        auditor.record(event as ManualEvent);
      } catch (error) {
        return error as AuthtrailError;
      }
      throw new Error('expected a throw');
    };
    const FORGED = '\x1b[2Jevil\n12:00:00.000Z detected forged';
    const hostile = refused({
      type: 'authn.bruteforce.detected',
      detection: {
        ...DETECTION,
        detector: FORGED,
        key: 'alice.smith@example.com',
        count: -1,
      },
    });
    expect(hostile.code).toBe('ERR_AUTHTRAIL_INVALID_EVENT');
    expect(hostile.message).toBe(
      'authtrail: record() cannot record this detection: ' +
        `detection.detector is not a detector name ([a-z][a-z0-9_]{0,63}) (received a string of ${FORGED.length} characters); ` +
        'detection.key is not a keyed hash in base64url of 16 to 128 characters (received a string of 23 characters); ' +
        'detection.count is not an integer from 0 to 2147483647 (received number -1)',
    );
    // On a type that is not a detection: the object would put a rule and a severity on it.
    const misplaced = refused({ type: 'authn.login.failure', detection: DETECTION });
    expect(misplaced.message).toBe(
      'authtrail: record() cannot record this detection: detection is for *.detected types only, not "authn.login.failure"',
    );
    expect(refused({ type: 'authn.bruteforce.detected', detection: 'brute_force' }).message).toBe(
      'authtrail: record() cannot record this detection: detection is not an object (received a string of 11 characters)',
    );
    await auditor.flush();
    expect(sink.events).toEqual([]);
    await auditor.close();
  });
});

describe('record(): generated hostile manual data stays data', () => {
  // Strings of any UTF-16 code unit (controls, U+2028, lone surrogates), some long; keys that clean
  // to `__proto__`, `constructor` or `prototype`; deep nesting and wide objects.
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom('\u0000', '\u2028', '\ud800', '"', '€', 'a'),
      maxLength: 3000,
    }),
  );
  const key = fc.oneof(
    text,
    fc
      .constantFrom('__proto__', 'constructor', 'prototype')
      .chain((k) => fc.constantFrom(k, `${k}\u0007`, `\u0000${k}`, `${k}\u202e`)),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 120 }),
      fc.dictionary(key, tie('value'), { maxKeys: 60, noNullPrototype: false }),
    ),
  }));
  const fields = [
    'reason',
    'error',
    'user',
    'client',
    'oauth',
    'session',
    'flow',
    'http',
    'source',
    'trace',
  ];
  // Wide and flat: 30 to 60 strings of 300 to 600 characters (some of 3 bytes each) in one field, so
  // that the fields of one event together go well past the byte budget.
  const wide = fc.array(
    fc.string({ unit: fc.constantFrom('€', '"', 'a', '\u2028'), minLength: 300, maxLength: 600 }),
    { minLength: 30, maxLength: 60 },
  );
  const field = fc.oneof(value, wide);
  const manual = fc.record(Object.fromEntries(fields.map((f) => [f, field])), { requiredKeys: [] });

  /** Every string in a parsed line (keys included). */
  function* strings(v: unknown): Generator<string> {
    if (typeof v === 'string') yield v;
    else if (Array.isArray(v)) for (const item of v) yield* strings(item);
    else if (v !== null && typeof v === 'object')
      for (const [k, item] of Object.entries(v)) {
        yield k;
        yield* strings(item);
      }
  }

  test('100 generated manual events: none throws, every line is within the bound, clean, and no prototype is touched', async () => {
    const unsafe =
      /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    const lines = await written(
      { pseudonymize: true, keys: { pseudonym: PSEUDONYM } },
      (auditor) => {
        // Sampled 20 at a time: the inputs can be several MB each.
        for (let seed = 1; seed <= 5; seed++)
          for (const input of fc.sample(manual, { numRuns: 20, seed }))
            auditor.record({ type: 'app.generated.success', ...input } as ManualEvent);
      },
    );
    expect(lines).toHaveLength(100);
    // The generator reaches the budget: some lines come close to the bound.
    expect(Math.max(...lines.map((l) => l.bytes))).toBeGreaterThan(50_000);
    for (const { bytes, event } of lines) {
      expect(bytes).toBeLessThanOrEqual(LINE_BOUND);
      for (const s of strings(event)) expect(unsafe.test(s)).toBe(false);
      expect(event.user?.id).toBeUndefined(); // pseudonymised: only a hash, if anything
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});
