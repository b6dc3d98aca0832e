// Focused tests for what test/hostile-input.test.ts found: each names the fix it guards.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { clean, redactQuery } from '../src/redact.js';
import {
  createAuditor,
  memorySink,
  type AuthtrailOptions,
  type RequestFacts,
} from '@authtrail/core';

const KEY = 'fingerprint-key-for-tests-0123456789';
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A JWT whose payload is the given JSON text, so it can hold what JSON.stringify never writes. */
const jwt = (payload: string) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}.c2ln`;

function facts(authorization: string): RequestFacts {
  return {
    startTime: Date.now(),
    durationMs: 1,
    method: 'GET',
    url: '/api/items',
    status: 401,
    headers: { authorization },
    ip: '127.0.0.1',
  };
}

function auditor(options: AuthtrailOptions = {}) {
  const sink = memorySink();
  const audit = createAuditor({
    sinks: [sink],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
    ...options,
  });
  // What an adapter drives: the tests hand it request facts as an adapter would.
  return { sink, audit, adapter: audit.attach('core') };
}

describe('lone UTF-16 surrogates (redact.ts clean)', () => {
  test('become U+FFFD in every string taken from claims, so each line is well-formed Unicode', async () => {
    const { sink, audit, adapter } = auditor();
    // 511 characters and an emoji: the 512-character limit cuts the pair in half.
    const issuer = `${'i'.repeat(511)}\u{1f600}`;
    adapter.observe(
      facts(
        `Bearer ${jwt(`{"sub":"\\ud800","scope":"a\\udfffb \\ud83d\\ude00","iss":${JSON.stringify(issuer)},"aud":["\\udc00x"]}`)}`,
      ),
    );
    await audit.flush();
    const [event] = sink.events;
    expect(event?.user?.id).toBe('\ufffd');
    expect(event?.oauth?.scope).toEqual(['a\ufffdb', '\u{1f600}']); // a whole pair is kept
    expect(event?.oauth?.issuer).toBe(`${'i'.repeat(511)}\ufffd`);
    expect(event?.oauth?.audience).toEqual(['\ufffdx']);
    expect(sink.text()).not.toMatch(/\\ud[89a-f]/i); // no surrogate escape in the JSON line
    expect(LONE_SURROGATE.test(sink.text())).toBe(false);
  });

  test('removes control characters first, so a pair they split is joined again', async () => {
    const { sink, audit, adapter } = auditor();
    adapter.observe(facts(`Bearer ${jwt('{"sub":"\\ud83d\\u0000\\ude00"}')}`));
    await audit.flush();
    expect(sink.events[0]?.user?.id).toBe('\u{1f600}');
  });
});

describe('over-long bearer tokens (observe.ts tokenView)', () => {
  test('are fingerprinted but not kept: 64 distinct 2 MB tokens leave the heap where it was', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { sink, audit, adapter } = auditor();
    // Distinct strings with distinct tails (the token cache keys on a hash of the last 32).
    const token = (i: number) => {
      const bytes = Buffer.alloc(2 << 20, 'A');
      bytes.write(String(i).padStart(12, '0'), bytes.length - 12);
      return bytes.toString('latin1');
    };
    adapter.observe(facts(`Bearer ${token(-1)}`));
    await audit.flush();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 64; i++) adapter.observe(facts(`Bearer ${token(i)}`));
    await audit.flush();
    gc();
    // Kept in the token cache, they would hold 128 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 << 20);
    expect(sink.events).toHaveLength(65);
    expect(sink.events.every((e) => e.reason === 'token_malformed')).toBe(true);
    expect(new Set(sink.events.map((e) => e.oauth?.token?.fingerprint)).size).toBe(65);
  });

  test('give the same fingerprint every time they are seen', async () => {
    const { sink, audit, adapter } = auditor();
    const long = 'A'.repeat(20_000);
    adapter.observe(facts(`Bearer ${long}`));
    adapter.observe(facts(`Bearer ${long}`));
    await audit.flush();
    const [a, b] = sink.events.map((e) => e.oauth?.token?.fingerprint);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(b).toBe(a);
  });
});

describe('near-megabyte claims under limits.maxTokenLength 1 MiB', () => {
  test('are decoded into fields bounded by the limits, and no claim reaches Object.prototype', async () => {
    const { sink, audit, adapter } = auditor({ limits: { maxTokenLength: 1_048_576 } });
    const payload =
      `{"sub":"${'s'.repeat(200_000)}","scope":"${'x '.repeat(50_000)}",` +
      `"aud":${JSON.stringify(Array(1000).fill('a'.repeat(300)))},"roles":"${'r'.repeat(10_000)}",` +
      `"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"exp":1e400}`;
    const token = jwt(payload);
    expect(token.length).toBeGreaterThan(800_000);
    expect(token.length).toBeLessThanOrEqual(1_048_576);
    adapter.observe(facts(`Bearer ${token}`));
    await audit.flush();
    const [event] = sink.events;
    expect(event?.user?.id).toHaveLength(256);
    expect(event?.user?.roles).toEqual(['r'.repeat(128)]);
    expect(event?.oauth?.scope).toHaveLength(100);
    expect(event?.oauth?.audience).toEqual(Array(20).fill('a'.repeat(256)));
    expect(event?.oauth?.token?.expires_at).toBeUndefined(); // 1e400 parses as Infinity
    expect(Buffer.byteLength(sink.text())).toBeLessThan(16_384);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

test('a secret sent as a query parameter name is redacted, ordinary names are kept', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const out = redactQuery(`${jwt}&code=abc&error=access_denied&x%0Ay=1`, new Set(['error']), 1024);
  expect(out).toBe(
    '[redacted]=[redacted]&code=[redacted]&error=access_denied&[redacted]=[redacted]',
  );
  expect(out).not.toContain('eyJ');
});

test('bidirectional overrides are stripped like control characters', () => {
  expect(clean('admin\u202egnp.exe\u2066x\u200f', 64)).toBe('admingnp.exex');
});

test('event times are the ISO-8601 form of their millisecond, across seconds, repeats and odd values', async () => {
  const { newEvent } = await import('../src/event.js');
  const observer = { role: 'rs' as const, service: 's', instance: 'i', adapter: 'a' };
  for (const ms of [
    0, 7, 42, 42, 999, 1000, 1_764_000_000_123, 1_764_000_000_123, 1_764_000_000_999,
    1_764_000_001_000, 1.5, 1.5, -1, 7,
  ])
    expect(newEvent(observer, 'app.thing.success', ms).time).toBe(new Date(ms).toISOString());
});
