// silent_pipeline: an instance whose heartbeats stop. The state's silence primitive is driven
// with explicit times (exact thresholds, no waiting); the engine runs on real auditors and a real
// clock with 1-second heartbeats (a few seconds per test: the silence is real time passing).
import { createAuditor, memorySink, type AuditEvent, type Batch, type Sink } from '@authtrail/core';
import {
  callbackAlert,
  detectors,
  memoryState,
  type AlertNotification,
  type DetectorState,
  type DetectorsOptions,
  type Held,
  type Sighting,
  type Silences,
} from '../src/index.js';
import { only, signIns } from './support.js';

const KEY = 'detect-silence-test-fingerprint-key-4e7a';
const { hash } = signIns(KEY);
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const SLOT = 'silent_pipeline#0';

const beat = (time: number, id: string, over: Partial<Sighting> = {}): Sighting => ({
  slot: SLOT,
  key: 'k-orders',
  time,
  id,
  quiet_s: 180,
  ...over,
});

/** What the state finds silent at `now`: memoryState answers at once. */
const silentAt = (state: DetectorState, now: number, held: readonly Held[]) =>
  state.silent!([SLOT], now, held) as Silences;

const onlySilence = (alerts?: DetectorsOptions['alerts']): DetectorsOptions => ({
  ...only('silent_pipeline'),
  ...(alerts ? { alerts } : {}),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

describe('options', () => {
  test('silent_pipeline and silence rules are checked with the rest, every problem at once', () => {
    let error: unknown;
    try {
      detectors({
        builtIns: {
          silent_pipeline: { missed: 0, severity: 'urgent', every: 5 },
        } as never,
        custom: [
          {
            name: 'quiet_queue',
            type: 'app.quiet_queue.detected',
            severity: 'low',
            rule: { kind: 'silence' } as never,
            read: () => undefined,
          },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const issues = (error as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'detectors({ builtIns.silent_pipeline.every })',
        'detectors({ builtIns.silent_pipeline.missed })',
        'detectors({ builtIns.silent_pipeline.severity })',
        'detectors({ custom[0].rule.missed })',
      ]),
    );
    expect((error as Error).message).toMatch(
      /silent_pipeline\.missed \}\): received number 0; use a whole number from 1 to 100/,
    );
  });
});

describe('the silence primitive (memoryState)', () => {
  test('a key is silent at 3 missed intervals, not at 2; handed out once; over when seen again', () => {
    const state = memoryState();
    state.watch!([beat(T0, 'e1')]);
    // Beats every 60 s: quiet_s 180 is three missed.
    expect(silentAt(state, T0 + 120_000, []).silent).toEqual([]);
    expect(silentAt(state, T0 + 179_999, []).silent).toEqual([]);
    const first = silentAt(state, T0 + 180_000, []);
    expect(first.silent).toEqual([
      { slot: SLOT, key: 'k-orders', id: 'e1', time: T0, quiet_s: 180 },
    ]);
    const held = [{ slot: SLOT, key: 'k-orders' }];
    // Once per silence: later ticks neither hand it out again nor call it over.
    expect(silentAt(state, T0 + 300_000, held)).toEqual({ silent: [], over: [] });
    // A heartbeat again: the silence is over, and a new one can begin.
    state.watch!([beat(T0 + 400_000, 'e2')]);
    expect(silentAt(state, T0 + 400_001, held)).toEqual({ silent: [], over: held });
    expect(silentAt(state, T0 + 580_000, []).silent.map((s) => s.id)).toEqual(['e2']);
  });

  test('a late sighting never moves a key back; a reset forgets it; a day-long silence is forgotten', () => {
    const state = memoryState();
    state.watch!([beat(T0 + 60_000, 'e2'), beat(T0, 'e1')]);
    expect(silentAt(state, T0 + 200_000, []).silent).toEqual([]);
    expect(silentAt(state, T0 + 240_000, []).silent.map((s) => s.id)).toEqual(['e2']);

    const stopped = memoryState();
    stopped.watch!([beat(T0, 'e1'), beat(T0 + 1000, 'close', { reset: true, quiet_s: 0 })]);
    expect(silentAt(stopped, T0 + 10_000_000, []).silent).toEqual([]);
    expect(stopped.stats().keys).toBe(0);

    const gone = memoryState();
    gone.watch!([beat(T0, 'e1')]);
    const held = [{ slot: SLOT, key: 'k-orders' }];
    expect(silentAt(gone, T0 + 180_000, []).silent).toHaveLength(1);
    expect(silentAt(gone, T0 + 180_000 + 86_400_000, held).over).toEqual([]);
    expect(gone.stats().keys).toBe(0);
    // Forgotten: the next tick calls its silence over (its alert resolves).
    expect(silentAt(gone, T0 + 180_001 + 86_400_000, held).over).toEqual(held);
  });
});

/**
 * An app instance (`service`, 1-second heartbeats) whose events reach a watcher's detectors() sink
 * while `forwarding` is on: the watcher's engine is fed as one fed by several instances' files.
 */
function instance(service: string, engine: Sink) {
  const beats: AuditEvent[] = [];
  const link = { forwarding: true };
  const tee: Sink = {
    name: 'tee',
    async write(batch: Batch) {
      if (!link.forwarding) return;
      beats.push(...batch.events.filter((e) => e.type === 'audit.heartbeat.success'));
      await engine.write(batch);
    },
  };
  const auditor = createAuditor({
    service,
    heartbeat: 1,
    sinks: [tee],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  return { auditor, beats, link };
}

test('an instance silent for 3 heartbeat intervals is detected once, not at 2; its alert resolves when heartbeats resume; a closed instance is not silent', async () => {
  const notes: AlertNotification[] = [];
  const memory = memorySink();
  const engine = detectors(
    onlySilence({ to: [callbackAlert((n) => void notes.push(n))], groupWaitMs: 0 }),
  );
  const watcher = createAuditor({
    service: 'watcher',
    heartbeat: false,
    sinks: [memory, engine],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  const detected = () => memory.events.filter((e) => e.type === 'audit.silence.detected');
  const orders = instance('orders', engine);
  const billing = instance('billing', engine);
  try {
    await until(() => orders.beats.length >= 2 && billing.beats.length >= 1);
    // orders stops reaching the watcher (a stalled pipeline); billing closes on purpose.
    orders.link.forwarding = false;
    await billing.auditor.close();
    expect(billing.beats.at(-1)).toMatchObject({ reason: 'close' });
    const last = orders.beats.at(-1)!;
    const lastTime = Date.parse(last.time);

    await sleep(lastTime + 2500 - Date.now());
    expect(detected()).toEqual([]);
    await until(() => detected().length > 0, 2000);
    expect(Date.now() - lastTime).toBeGreaterThanOrEqual(3000);
    const [silence] = detected();
    expect(silence).toMatchObject({
      type: 'audit.silence.detected',
      outcome: 'detected',
      observer: { service: 'watcher' },
      detection: {
        detector: 'silent_pipeline',
        // Keyed by the instance, hashed like every detector's key.
        key: hash(`orders\u0000${last.observer.instance}`),
        severity: 'high',
        count: 3,
        threshold: 3,
        window_s: 3,
        first: last.id,
        last: last.id,
        first_time: last.time,
      },
    });
    expect(silence!.user).toBeUndefined();
    expect(silence!.source).toBeUndefined();
    await until(() => notes.length > 0);
    expect(notes[0]).toMatchObject({ status: 'firing', detector: 'silent_pipeline' });
    // Once per silence: still one after more ticks, and the alert is not resolved by quiet time.
    await sleep(1500);
    expect(detected()).toHaveLength(1);
    expect(notes.map((n) => n.status)).toEqual(['firing']);

    orders.link.forwarding = true;
    await until(() => notes.some((n) => n.status === 'resolved'), 3000);
    expect(notes.map((n) => [n.status, n.group])).toEqual([
      ['firing', notes[0]!.group],
      ['resolved', notes[0]!.group],
    ]);
    expect(detected()).toHaveLength(1);
    expect(JSON.stringify(notes)).not.toContain('orders');
  } finally {
    await orders.auditor.close();
    await watcher.close();
  }
}, 20_000);
