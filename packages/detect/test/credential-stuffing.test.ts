// The credential_stuffing built-in in a real auditor: failed sign-ins recorded at times set by the
// auditor's test clock reach a detectors() sink and a memory sink; decisions are read back from
// the memory sink. Times are laid on the surge rule's 30 s buckets (T0 is on one's edge) so that
// "the window" and "the hour before" hold exactly what each test says.
import {
  callbackAlert,
  detectors,
  type AlertNotification,
  type DetectorsOptions,
} from '../src/index.js';
import { T0, harness, only, signIns, type Harness } from './support.js';

const KEY = 'stuffing-test-fingerprint-key-8c2d4e6f0a1b';
const SERVICE = 'shop-login';
const { hash } = signIns(KEY);
const S = 1000;

/** Only credential_stuffing (tuned by `tune`), unless `options` says otherwise. */
const setup = (tune: object = {}, options: DetectorsOptions = {}) =>
  harness({
    service: SERVICE,
    key: KEY,
    detect: { ...only('credential_stuffing', tune), ...options },
  });

/** `n` failures from `at`, `step` ms apart, each of its own account (a leaked list). */
function list(t: Harness, at: number, n: number, step = 200, tag = 'x') {
  return Array.from({ length: n }, (_, i) =>
    t.fail(at + i * step, `${tag}${i}@example.com`, `203.0.113.${i % 250}`),
  );
}

/**
 * An hour of 60 failures per 5 minutes (720, one every 5 s) from T0 over five accounts: a busy
 * service whose users mistype, too few distinct accounts to be a surge itself.
 */
function busyHour(t: Harness) {
  for (let i = 0; i < 720; i++) t.fail(T0 + i * 5 * S, `regular${i % 5}@example.com`);
}
/** The first bucket after the busy hour whose window holds none of it: T0 + 60 min + 4.5 min. */
const AFTER_HOUR = T0 + 3870 * S;

describe('options', () => {
  test('reports every problem at once, each with its place and a fix', () => {
    let error: unknown;
    try {
      detectors({
        builtIns: {
          credential_stuffing: {
            threshold: 0,
            factor: 0.5,
            window_s: 60,
            baseline_s: 60 * 101,
            distinct: 1.5,
            severity: 'urgent' as never,
            nope: 1,
          } as never,
        },
        custom: [
          {
            name: 'surge_missing',
            type: 'x.surge.detected',
            severity: 'low',
            rule: { kind: 'surge', threshold: 5, window_s: 60 } as never,
            read: () => undefined,
          },
          {
            name: 'surge_bad',
            type: 'x.surge_bad.detected',
            severity: 'low',
            rule: {
              kind: 'surge',
              threshold: 5,
              window_s: 60,
              factor: Infinity,
              baseline_s: 6001,
              distinct: -1,
            },
            read: () => undefined,
          },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const issues = (error as { issues: { path: string; fix: string }[] }).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'detectors({ builtIns.credential_stuffing.threshold })',
        'detectors({ builtIns.credential_stuffing.factor })',
        'detectors({ builtIns.credential_stuffing.baseline_s })',
        'detectors({ builtIns.credential_stuffing.distinct })',
        'detectors({ builtIns.credential_stuffing.severity })',
        'detectors({ builtIns.credential_stuffing.nope })',
        'detectors({ custom[0].rule.factor })',
        'detectors({ custom[0].rule.baseline_s })',
        'detectors({ custom[1].rule.factor })',
        'detectors({ custom[1].rule.baseline_s })',
        'detectors({ custom[1].rule.distinct })',
      ].sort(),
    );
    // The baseline's bound is the window's: 100 windows at most (a key's buckets stay bounded).
    expect(
      issues.find((i) => i.path === 'detectors({ builtIns.credential_stuffing.baseline_s })')!.fix,
    ).toBe('use a whole number from 1 to 6000 (100 windows)');
  });
});

describe('credential_stuffing', () => {
  test('fires at the 50th failed sign-in of distinct accounts within 5 minutes on a service with no history, not at the 49th', async () => {
    const t = setup();
    const made = list(t, T0, 49);
    expect(await t.detected()).toEqual([]);
    made.push(...list(t, T0 + 49 * 200, 1, 200, 'y'));
    const [d, ...more] = await t.detected();
    expect(more).toEqual([]);
    expect(d).toMatchObject({
      type: 'authn.credential_stuffing.detected',
      outcome: 'detected',
      detection: {
        detector: 'credential_stuffing',
        // The service, hashed like every key.
        key: hash(SERVICE),
        severity: 'high',
        count: 50,
        threshold: 50,
        window_s: 300,
        first: made[0]!.id,
        last: made[49]!.id,
        first_time: new Date(T0).toISOString(),
      },
    });
    // One of many failures made it fire: the decision names none of their accounts or IPs.
    expect(d!.user).toBeUndefined();
    expect(d!.source).toBeUndefined();
    expect(JSON.stringify(d)).not.toMatch(/example\.com|203\.0\.113|198\.51\.100/);
  });

  test('fires once per surge: 200 more failures of it give no second detection', async () => {
    const t = setup();
    list(t, T0, 250, 1000);
    expect(await t.detected()).toHaveLength(1);
  });

  test('does not fire when the hour before was already as busy: 150 failures of distinct accounts in 5 minutes after an hour of 60 per 5 minutes (2.5x)', async () => {
    const t = setup();
    busyHour(t);
    list(t, AFTER_HOUR, 150, 100);
    expect(await t.detected()).toEqual([]);
  });

  test('after a busy hour, fires at 3 times its rate (180 in 5 minutes), not at 179, and its threshold says so', async () => {
    const t = setup();
    busyHour(t);
    const made = list(t, AFTER_HOUR, 179, 100);
    expect(await t.detected()).toEqual([]);
    made.push(t.fail(AFTER_HOUR + 179 * 100, 'last@example.com'));
    const [d, ...more] = await t.detected();
    expect(more).toEqual([]);
    // 720 in the hour: 60 per 5 minutes; 3 x 60 = 180, above the floor of 50.
    expect(d!.detection).toMatchObject({
      count: 180,
      threshold: 180,
      window_s: 300,
      first: made[0]!.id,
      last: made[179]!.id,
    });
  });

  test('does not fire for a brute force on one account, nor on a few, however fast', async () => {
    const t = setup();
    for (let i = 0; i < 500; i++) t.fail(T0 + i * 100, 'alice@example.com', `203.0.113.${i % 200}`);
    for (let i = 0; i < 500; i++) t.fail(T0 + 60 * S + i * 100, `user${i % 20}@example.com`);
    expect(await t.detected()).toEqual([]);
  });

  test('fires when half of the latest 50 failures are of distinct accounts (25), not 24', async () => {
    const mixed = async (distinct: number) => {
      const t = setup();
      for (let i = 0; i < 50; i++) t.fail(T0 + i * 100, `user${i < distinct ? i : 0}@example.com`);
      return t.detected();
    };
    expect(await mixed(24)).toEqual([]);
    expect(await mixed(25)).toHaveLength(1);
  });

  test('clears when the surge ends: a second surge 20 minutes later is a second detection, with evidence of its own', async () => {
    const t = setup();
    list(t, T0, 60);
    const second = list(t, T0 + 20 * 60 * S, 50, 200, 'z');
    const found = await t.detected();
    expect(found).toHaveLength(2);
    expect(found[1]!.detection).toMatchObject({
      count: 50,
      // The first surge is in its hour: 60 per hour, 5 per 5 minutes, 3x that under the floor.
      threshold: 50,
      first: second[0]!.id,
      last: second[49]!.id,
    });
  });

  test('a rate wobbling about the threshold is one surge: back over it within 5 minutes of last holding is not a second detection', async () => {
    const t = setup();
    // 50 in the first 10 s: fires; then one every 6 s to 4 min 48 s, the surge holding.
    list(t, T0, 50);
    list(t, T0 + 12 * S, 47, 6 * S, 'v');
    // At 5 min the first 30 s leave the window: 44 in it, under the threshold. At 5 min 40 s,
    // 30 more: 69, over it again, 52 s after it last held: the same surge.
    list(t, T0 + 340 * S, 30, 200, 'w');
    expect(await t.detected()).toHaveLength(1);
    // Under the threshold for longer than a window (to 11 min), then over it: a new surge.
    list(t, T0 + 660 * S, 50, 200, 'u');
    expect(await t.detected()).toHaveLength(2);
  });

  test('counts only failed guesses: successes and other login failures are not counted', async () => {
    const t = setup();
    let now = T0;
    for (let i = 0; i < 60; i++) {
      now = T0 + i * 100;
      t.auditor.record({
        type: 'authn.login.failure',
        reason: 'state_mismatch',
        observer: { role: 'rp' },
        user: { hash: hash(`p${i}`) },
      });
    }
    expect(now).toBeGreaterThan(0);
    expect(await t.detected()).toEqual([]);
  });

  test('tuned: threshold, window, factor, baseline and distinct share are the options', async () => {
    const t = setup({
      threshold: 10,
      window_s: 60,
      factor: 2,
      baseline_s: 600,
      distinct: 0.9,
      severity: 'critical',
    });
    // Ten of ten distinct accounts within a minute.
    list(t, T0, 10, 1000);
    const [d] = await t.detected();
    expect(d!.detection).toMatchObject({
      severity: 'critical',
      count: 10,
      threshold: 10,
      window_s: 60,
    });
  });

  test('turned off with false; on by default with the other built-ins', async () => {
    const off = setup(false as never);
    list(off, T0, 60);
    expect(await off.detected()).toEqual([]);
    // No detect options: every built-in on.
    const all = harness({ service: SERVICE, key: KEY });
    for (let i = 0; i < 50; i++) all.fail(T0 + i * 200, `d${i}@example.com`, `192.0.2.${i}`);
    expect(
      (await all.detected()).filter((e) => e.detection?.detector === 'credential_stuffing'),
    ).toHaveLength(1);
  });

  test('its alert fires and resolves, carrying no account or IP', async () => {
    const got: AlertNotification[] = [];
    const t = setup(
      {},
      {
        alerts: {
          to: [callbackAlert((n) => void got.push(n))],
          groupWaitMs: 10,
          resolveAfterMs: 100,
        },
      },
    );
    list(t, T0, 50);
    await t.detected();
    const end = Date.now() + 5000;
    while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(got.map((n) => [n.status, n.detector, n.count, n.threshold])).toEqual([
      ['firing', 'credential_stuffing', 50, 50],
      ['resolved', 'credential_stuffing', 50, 50],
    ]);
    expect(JSON.stringify(got)).not.toMatch(/example\.com|203\.0\.113|198\.51\.100/);
    await t.auditor.close();
  });
});
