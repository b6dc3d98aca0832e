// refresh_token_reuse in a real auditor: the provider's refresh, revocation and failure events (as
// core records them) are recorded through an auditor with a detectors() sink; the decisions are
// read back from a memory sink. The token is only ever a fingerprint here, as in core's events.
import type { AuditEvent, ManualEvent } from '@authtrail/core';
import { detectors, type DetectorsOptions } from '../src/index.js';
import { T0, harness, signIns } from './support.js';

const KEY = 'reuse-test-fingerprint-key-8d2f6a1c9e4b';
const { hash } = signIns(KEY);
const DAY = 86_400_000;
const X = hash('refresh-token-x');
const Y = hash('refresh-token-y');

function setup(options: DetectorsOptions = {}) {
  const t = harness({ service: 'reuse-test', key: KEY, detect: options });
  return {
    at: t.at,
    record: t.record,
    async detected(): Promise<AuditEvent[]> {
      return (await t.detected()).filter((e) => e.type === 'oauth.token_reuse.detected');
    },
  };
}

/** The provider's refresh that rotated `spent`, as core records it. */
const rotated = (spent: string, role: 'op' | 'rp' = 'op'): ManualEvent => ({
  type: 'oauth.token_refresh.success',
  observer: { role },
  client: { id: 'cli' },
  user: { id: 'alice' },
  oauth: {
    grant_type: 'refresh_token',
    token: { type: 'access_token', fingerprint: hash(`at-${Math.random()}`), verified: true },
    presented: { type: 'refresh_token', fingerprint: spent, verified: true },
  },
});
/** A refresh presenting `fingerprint` that the provider refused; `token_reused`: it still held it, consumed. */
const refused = (fingerprint: string, reason = 'invalid_grant'): ManualEvent => ({
  type: 'oauth.token_refresh.failure',
  observer: { role: 'op' },
  client: { id: 'cli' },
  reason,
  error: { code: 'invalid_grant' },
  source: { ip: '203.0.113.9' },
  oauth: {
    grant_type: 'refresh_token',
    token: { type: 'refresh_token', fingerprint, verified: reason === 'token_reused' },
  },
});
const revoked = (fingerprint: string): ManualEvent => ({
  type: 'oauth.token_revoke.success',
  observer: { role: 'op' },
  client: { id: 'cli' },
  oauth: { token: { type: 'refresh_token', fingerprint, verified: false } },
});

describe('options', () => {
  test('reports a bad window and a sequence rule whose repeat is not a boolean, at once', () => {
    let error: unknown;
    try {
      detectors({
        builtIns: { refresh_token_reuse: { window_s: 0, nope: 1 } as never },
        custom: [
          {
            name: 'mine',
            type: 'oauth.mine.detected',
            severity: 'low',
            rule: { kind: 'sequence', within_s: 60, repeat: 'yes' as never },
            read: () => undefined,
          },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const paths = (error as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'detectors({ builtIns.refresh_token_reuse.window_s })',
        'detectors({ builtIns.refresh_token_reuse.nope })',
        'detectors({ custom[0].rule.repeat })',
      ]),
    );
  });
});

describe('refresh_token_reuse', () => {
  test('a refresh presenting a rotated token fires once, high, keyed by the token; its evidence the rotation and the reuse', async () => {
    const s = setup();
    const rotation = s.record(rotated(X));
    s.at(T0 + 5 * 60_000);
    const reuse = s.record(refused(X));
    const [d, ...more] = await s.detected();
    expect(more).toEqual([]);
    expect(d).toMatchObject({
      outcome: 'detected',
      observer: { role: 'op' },
      client: { id: 'cli' },
      source: { ip: '203.0.113.9' },
      oauth: { token: { type: 'refresh_token', fingerprint: X } },
      detection: {
        detector: 'refresh_token_reuse',
        key: hash(X),
        severity: 'high',
        count: 2,
        threshold: 2,
        window_s: 2_592_000,
        first: rotation.id,
        last: reuse.id,
        first_time: rotation.time,
      },
    });
  });

  test('every later use fires again, its count going up, its evidence still starting at the rotation', async () => {
    const s = setup();
    const rotation = s.record(rotated(X));
    s.at(T0 + 60_000);
    s.record(refused(X, 'token_reused'));
    s.at(T0 + DAY);
    const again = s.record(refused(X));
    const found = await s.detected();
    expect(found.map((d) => [d.detection?.count, d.detection?.first])).toEqual([
      [2, rotation.id],
      [3, rotation.id],
    ]);
    expect(found[1]!.detection?.last).toBe(again.id);
  });

  test("the provider's own word (token_reused) fires at once without a rotation seen here, exactly once with one", async () => {
    const alone = setup();
    const reuse = alone.record(refused(X, 'token_reused'));
    expect((await alone.detected()).map((d) => [d.detection?.first, d.detection?.last])).toEqual([
      [reuse.id, reuse.id],
    ]);
    const seen = setup();
    const rotation = seen.record(rotated(X));
    const second = seen.record(refused(X, 'token_reused'));
    expect((await seen.detected()).map((d) => [d.detection?.first, d.detection?.last])).toEqual([
      [rotation.id, second.id],
    ]);
  });

  test('a revoked refresh token presented again fires', async () => {
    const s = setup();
    const revocation = s.record(revoked(X));
    s.record(refused(X));
    expect((await s.detected()).map((d) => d.detection?.first)).toEqual([revocation.id]);
  });

  test('does not fire for: another token, a refresh that did not rotate, a relying party, a use after window_s', async () => {
    const s = setup({ builtIns: { refresh_token_reuse: { window_s: 7 * 86_400 } } });
    s.record(rotated(X));
    s.record(refused(Y)); // another token
    // A provider that kept the token (no rotation): its success names no spent token.
    s.record({ ...rotated(Y), oauth: { grant_type: 'refresh_token' } });
    s.record(refused(Y));
    // A relying party's refresh names the token it spent whether or not the provider rotated it.
    s.record(rotated(Y, 'rp'));
    s.record({ ...refused(Y), observer: { role: 'rp' } });
    s.at(T0 + 7 * DAY + 1);
    s.record(refused(X)); // past the window: forgotten
    expect(await s.detected()).toEqual([]);
  });
});
