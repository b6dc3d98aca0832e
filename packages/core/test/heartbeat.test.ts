// The auditor's heartbeat: `audit.heartbeat.success` every `heartbeat` seconds through the chain to
// every sink, read back from a real file sink. Real time with 1-second heartbeats (a few seconds).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuditor,
  fileSink,
  memorySink,
  toEcs,
  toOcsf,
  type AuditEvent,
  type Sink,
} from '@authtrail/core';

const KEYS = {
  fingerprint: 'heartbeat-test-fingerprint-key-0123456789',
  chain: 'heartbeat-test-chain-key-0123456789abcdef',
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const beatsIn = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.type === 'audit.heartbeat.success');
const lines = (path: string): AuditEvent[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

test('option heartbeat takes whole seconds from 1 to a day, or false; every problem is reported at once', () => {
  for (const bad of [0, -5, 1.5, 86_401, '60', true, null]) {
    let error: unknown;
    try {
      createAuditor({
        heartbeat: bad as never,
        delivery: { maxBatch: 0 },
        sinks: [memorySink()],
        keys: KEYS,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const message = (error as Error).message;
    expect(message).toContain(
      'createAuditor({ heartbeat }): received ' +
        (typeof bad === 'string' ? 'a string of 2 characters' : ''),
    );
    expect(message).toContain(
      'use a whole number of seconds from 1 to 86400, or false to record no heartbeat',
    );
    expect(message).toContain('delivery.maxBatch');
  }
});

test('records a chained heartbeat every interval to every sink, with its interval, number and the counts since the last; one more at close, then none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'authtrail-heartbeat-'));
  const file = join(dir, 'audit.jsonl');
  const memory = memorySink();
  // A sink that refuses everything, without retries: its losses show in the next heartbeat.
  const broken: Sink = {
    name: 'broken',
    write() {
      throw new Error('down');
    },
  };
  const auditor = createAuditor({
    service: 'orders',
    heartbeat: 1,
    sinks: [fileSink(file), memory, broken],
    keys: KEYS,
    delivery: { handleSignals: false, retries: 0 },
  });
  const start = Date.now();
  auditor.record({ type: 'app.export.success' });
  auditor.record({ type: 'app.export.success' });
  while (beatsIn(memory.events).length < 2) await sleep(20);
  auditor.record({ type: 'app.export.success' });
  await auditor.close();
  const closedAt = Date.now();
  await sleep(1300);

  const written = lines(file);
  const beats = beatsIn(written);
  expect(beats).toEqual(beatsIn(memory.events));
  expect(beats.map((b) => [b.reason, b.heartbeat])).toEqual([
    [undefined, { interval_s: 1, n: 1, events: 2, dropped: 2 }],
    [undefined, { interval_s: 1, n: 2, events: 0, dropped: 1 }],
    ['close', { interval_s: 1, n: 3, events: 1, dropped: 2 }],
  ]);
  for (const b of beats)
    expect(b).toMatchObject({
      outcome: 'success',
      observer: { role: 'rs', service: 'orders', adapter: 'core' },
    });
  // Chained like any event, in order with the rest.
  expect(beats.every((b) => typeof b.seq === 'number' && b.chain?.hash)).toBe(true);
  const gap = Date.parse(beats[1]!.time) - Date.parse(beats[0]!.time);
  expect(gap).toBeGreaterThanOrEqual(900);
  expect(gap).toBeLessThan(1500);
  expect(Date.parse(beats[0]!.time) - start).toBeGreaterThanOrEqual(900);
  // Nothing after close: the timer is stopped, the file ends with the chain's closing checkpoint.
  expect(written.at(-1)).toMatchObject({ type: 'audit.checkpoint.success', reason: 'close' });
  expect(lines(file)).toHaveLength(written.length);
  expect(Date.parse(beats[2]!.time)).toBeLessThanOrEqual(closedAt);
});

test('heartbeat: false records none, not even at close; a closed auditor before its first heartbeat records none', async () => {
  const off = memorySink();
  const auditor = createAuditor({
    heartbeat: false,
    sinks: [off],
    keys: KEYS,
    delivery: { handleSignals: false },
  });
  const early = memorySink();
  const quick = createAuditor({
    heartbeat: 1,
    sinks: [early],
    keys: KEYS,
    delivery: { handleSignals: false },
  });
  await quick.close();
  await sleep(1200);
  await auditor.close();
  expect(beatsIn(off.events)).toEqual([]);
  expect(beatsIn(early.events)).toEqual([]);
});

test('record() refuses an app event carrying a heartbeat: only the auditor says it is alive', async () => {
  const auditor = createAuditor({
    sinks: [memorySink()],
    keys: KEYS,
    delivery: { handleSignals: false },
  });
  expect(() =>
    auditor.record({
      type: 'audit.heartbeat.success',
      heartbeat: { interval_s: 60, n: 1, events: 0, dropped: 0 },
    } as never),
  ).toThrow(expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_EVENT' }));
  await auditor.close();
});

test('ECS keeps the heartbeat under authtrail.heartbeat, OCSF under unmapped.heartbeat', async () => {
  const memory = memorySink();
  const auditor = createAuditor({
    service: 'orders',
    heartbeat: 1,
    sinks: [memory],
    keys: KEYS,
    delivery: { handleSignals: false },
  });
  while (beatsIn(memory.events).length < 1) await sleep(20);
  await auditor.close();
  const [beat] = beatsIn(memory.events);
  const ecs = toEcs(beat!);
  expect(ecs.event).toMatchObject({ action: 'audit.heartbeat.success', kind: 'event' });
  expect(ecs.authtrail).toMatchObject({ heartbeat: beat!.heartbeat });
  const ocsf = toOcsf(beat!);
  expect(ocsf).toMatchObject({ class_uid: 0, unmapped: { heartbeat: beat!.heartbeat } });
});
