import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  callbackSink,
  createAuditor,
  fileSink,
  memorySink,
  stdoutSink,
  type Batch,
  type Sink,
} from '@authtrail/core';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const turn = () => new Promise((r) => setImmediate(r));

function recordingSink(): Sink & { batches: Batch[] } {
  const batches: Batch[] = [];
  return { name: 'recording', batches, write: (b) => void batches.push(b) };
}

describe('delivery queue', () => {
  test('never writes on the calling tick, and writes everything recorded in one turn as one batch', async () => {
    const sink = recordingSink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    for (let i = 0; i < 100; i++) auditor.record({ type: 'app.thing.success' });
    expect(sink.batches).toHaveLength(0);
    await turn();
    expect(sink.batches.map((b) => b.events.length)).toEqual([100]);
    expect(sink.batches[0]!.lines().split('\n')).toHaveLength(101);
    expect(auditor.stats()).toMatchObject({ enqueued: 100, delivered: 100, dropped: 0, queued: 0 });
  });

  test('splits a backlog into batches of maxBatch', async () => {
    const sink = recordingSink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY, delivery: { maxBatch: 40 } });
    for (let i = 0; i < 100; i++) auditor.record({ type: 'app.thing.success' });
    await auditor.flush();
    expect(sink.batches.map((b) => b.events.length)).toEqual([40, 40, 20]);
  });

  test('drops and counts events beyond maxQueue while a slow sink holds the queue, loses none below it, and reports the count once the sink accepts again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const reports: unknown[] = [];
    const slow: Sink = {
      name: 'slow',
      async write(batch) {
        await gate;
        for (const e of batch.events) {
          if (e.type === 'audit.delivery.failure') reports.push(e);
          else seen.push(Number(e.reason));
        }
      },
    };
    const auditor = createAuditor({ sinks: [slow], keys: KEY, delivery: { maxQueue: 50 } });
    auditor.record({ type: 'app.first.success', reason: '0' });
    await turn(); // the first batch is now in the slow sink
    for (let i = 1; i <= 80; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
    await turn();
    expect(auditor.stats()).toMatchObject({ enqueued: 81, dropped: 30, queued: 50 });
    release();
    await auditor.flush();
    expect(seen).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(reports).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        reason: 'events_dropped',
        delivery: { sink: 'slow', dropped: 30 },
      }),
    ]);
    expect(auditor.stats()).toMatchObject({ delivered: 52, dropped: 30, queued: 0 });
  });

  test('counts a failing sink, reports it on diagnostics_channel, and keeps delivering to the others', async () => {
    const good = memorySink();
    const bad: Sink = { name: 'bad', write: () => Promise.reject(new Error('disk full')) };
    const reports: unknown[] = [];
    const listener = (msg: unknown) => reports.push(msg);
    subscribe('authtrail:sink-error', listener);
    const auditor = createAuditor({ sinks: [bad, good], keys: KEY, delivery: { retries: 0 } });
    auditor.record({ type: 'app.thing.success' });
    await auditor.flush();
    unsubscribe('authtrail:sink-error', listener);
    expect(good.events).toHaveLength(1);
    expect(auditor.stats()).toMatchObject({ failed: 1, delivered: 1, dropped: 1 });
    expect(auditor.stats().sinks).toMatchObject({
      bad: { failed: 1, delivered: 0, dropped: 1 },
      memory: { failed: 0, delivered: 1, dropped: 0 },
    });
    expect(reports).toEqual([expect.objectContaining({ sink: 'bad', events: 1 })]);
  });

  test('close() flushes, closes sinks, and later events are refused or counted', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    auditor.record({ type: 'app.thing.success' });
    await auditor.close();
    expect(sink.events).toHaveLength(1);
    expect(() => auditor.record({ type: 'app.thing.success' })).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_CLOSED' }),
    );
    auditor.attach('core').observe({
      startTime: Date.now(),
      durationMs: 1,
      method: 'GET',
      url: '/x',
      status: 401,
      headers: {},
    });
    expect(auditor.stats().dropped).toBe(1);
  });
});

describe('sinks', () => {
  test('fileSink appends whole JSON lines that parse back to the events', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'authtrail-')), 'audit.jsonl');
    for (let round = 0; round < 2; round++) {
      const auditor = createAuditor({ sinks: [fileSink(path)], keys: KEY });
      for (let i = 0; i < 500; i++)
        auditor.record({ type: 'app.thing.success', reason: `r${round}-${i}` });
      await auditor.close();
    }
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1000);
    expect(lines.map((l) => JSON.parse(l).reason)).toEqual([
      ...Array.from({ length: 500 }, (_, i) => `r0-${i}`),
      ...Array.from({ length: 500 }, (_, i) => `r1-${i}`),
    ]);
  });

  test('fileSink reports a write error as a failed delivery, not a crash', async () => {
    const auditor = createAuditor({ sinks: [fileSink('/nonexistent-dir/audit.jsonl')], keys: KEY });
    auditor.record({ type: 'app.thing.success' });
    await auditor.flush();
    await new Promise((r) => setTimeout(r, 20));
    auditor.record({ type: 'app.thing.success' });
    await auditor.flush();
    expect(auditor.stats().failed).toBeGreaterThanOrEqual(1);
  });

  test('stdoutSink waits for drain when the stream is full instead of buffering without bound', async () => {
    const chunks: string[] = [];
    let pending: (() => void) | undefined;
    const stream = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        pending = cb; // completes only when the test says so
      },
    });
    const auditor = createAuditor({ sinks: [stdoutSink({ stream })], keys: KEY });
    auditor.record({ type: 'app.one.success' });
    await turn();
    auditor.record({ type: 'app.two.success' });
    await turn();
    await turn();
    // The first write filled the stream: the sink waits for drain, the second event waits in the queue.
    expect(chunks).toHaveLength(1);
    expect(auditor.stats()).toMatchObject({ delivered: 0, queued: 1 });
    pending!();
    await new Promise((r) => setTimeout(r, 10));
    pending!();
    await auditor.flush();
    expect(chunks.map((c) => JSON.parse(c).type)).toEqual(['app.one.success', 'app.two.success']);
  });

  test('callbackSink calls the function once per event, in order, and awaits it', async () => {
    const seen: string[] = [];
    const auditor = createAuditor({
      sinks: [
        callbackSink(async (e) => {
          await new Promise((r) => setTimeout(r, 1));
          seen.push(e.type);
        }),
      ],
      keys: KEY,
    });
    auditor.record({ type: 'app.a.success' });
    auditor.record({ type: 'app.b.failure' });
    await auditor.flush();
    expect(seen).toEqual(['app.a.success', 'app.b.failure']);
  });

  test('memorySink keeps the exact bytes a line sink would write', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    auditor.record({ type: 'app.a.success' });
    await auditor.flush();
    expect(sink.text()).toBe(JSON.stringify(sink.events[0]) + '\n');
    sink.clear();
    expect(sink.events).toEqual([]);
  });
});

describe('record()', () => {
  test('fills schema, a UUIDv7 id, time and outcome, and keeps events sortable by id', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    for (let i = 0; i < 2000; i++)
      auditor.record({ type: 'authn.mfa_verify.failure', reason: 'bad_code', user: { id: 'u1' } });
    await auditor.flush();
    const ids = sink.events.map((e) => e.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(2000);
    expect(sink.events[0]).toMatchObject({
      schema: 1,
      outcome: 'failure',
      reason: 'bad_code',
      user: { id: 'u1' },
      observer: { role: 'rs' },
    });
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(
      Math.abs(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16) - Date.now()),
    ).toBeLessThan(5000);
  });

  test('rejects a type of the wrong shape with ERR_AUTHTRAIL_INVALID_EVENT', () => {
    const auditor = createAuditor({ sinks: [memorySink()], keys: KEY });
    for (const type of ['login', 'authn.login.ok', 'Authn.Login.success', '', 42]) {
      expect(() => auditor.record({ type } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_EVENT' }),
      );
    }
  });

  test('keeps manual fields as bounded plain data: no functions, no prototype keys, no control characters', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    const user = JSON.parse('{"id":"u\\u0000x","__proto__":{"admin":true},"fn":null}');
    user.fn = () => 'x';
    auditor.record({
      type: 'app.thing.success',
      user,
      reason: 'r'.repeat(10_000),
      extra: 'dropped',
    } as never);
    await auditor.flush();
    const e = sink.events[0]!;
    expect(e.user).toEqual({ id: 'ux' });
    expect(e.reason).toHaveLength(512);
    expect(e).not.toHaveProperty('extra');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

test('event lines are byte for byte what JSON.stringify gives, with shared frozen parts reused', async () => {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys: KEY, delivery: { handleSignals: false } });
  const roles = ['admin'];
  const user = Object.freeze({ id: 'alice', roles: Object.freeze(roles) && roles });
  for (let i = 0; i < 3; i++)
    auditor.record({ type: 'app.thing.success', user, reason: `r"${i}\u2028`, http: undefined });
  await auditor.flush();
  expect(sink.text()).toBe(sink.events.map((e) => JSON.stringify(e) + '\n').join(''));
});

test('event lines stay exact JSON whatever the ids, types and values hold', async () => {
  const sink = memorySink();
  const ids = ['plain-id', 'quote"id', 'back\\slash', 'ctl\u0001', 'é-ünicode', '\ud800lone', '42'];
  let n = 0;
  const auditor = createAuditor({
    sinks: [sink],
    keys: KEY,
    ids: () => ids[n++ % ids.length]!,
    delivery: { handleSignals: false },
  });
  const shared = Object.freeze({ id: 'same object, two keys' });
  for (let i = 0; i < ids.length; i++) {
    auditor.record({
      type: 'app.thing.success',
      user: shared,
      client: shared,
      reason: ['r', 'quote"', '\u2028', 'ütf', '', 'x'.repeat(300), '\\'][i],
      http: { method: 'GET', path: '/p"q', status: 200 + i, duration_ms: i / 3 },
    });
  }
  auditor.attach('core').observe({
    startTime: Date.now(),
    durationMs: 1.5,
    method: 'GET',
    url: '/api/items?q=1',
    status: 200,
    headers: { authorization: 'Bearer not-a-jwt', 'user-agent': 'agent "quoted" ü' },
    ip: '::1',
  });
  await auditor.flush();
  expect(sink.events).toHaveLength(ids.length + 1);
  expect(sink.text()).toBe(sink.events.map((e) => JSON.stringify(e) + '\n').join(''));
  for (const line of sink.text().trimEnd().split('\n'))
    expect(() => JSON.parse(line)).not.toThrow();
});
