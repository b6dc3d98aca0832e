// The retention events, recorded through a real auditor: what retain reported reaches the trail
// whole (every chain head, even of a day with more chains than one manual event may carry), and a
// failure is told by code, never by its message.
import { createAuditor, memorySink, AuthtrailError } from '@authtrail/core';
import {
  parseDuration,
  retentionEvents,
  retentionFailureEvent,
  type DroppedPartition,
} from '@authtrail/store';

const day = (chains: number): DroppedPartition => ({
  day: '2025-01-01',
  partition: 'authtrail_events_20250101',
  rows: chains * 3,
  first: '2025-01-01T00:00:00.000Z',
  last: '2025-01-01T23:59:59.999Z',
  chainHeads: Array.from({ length: chains }, (_, i) => ({
    id: `0193f1c2-0000-7000-8000-${String(i).padStart(12, '0')}`,
    seq: 1000 + i,
    hash: `h${String(i).padStart(42, 'x')}`,
  })),
});

function recorded(events: ReturnType<typeof retentionEvents>) {
  const mem = memorySink();
  const auditor = createAuditor({
    sinks: [mem],
    keys: { fingerprint: 'retention-unit-fingerprint-key-0123456789' },
    delivery: { handleSignals: false },
  });
  const out = events.map((e) => auditor.record(e));
  void auditor.close();
  return out;
}

test('parseDuration reads units and milliseconds, and refuses the rest', () => {
  expect(['1d', '12h', '30m', '10s', '500ms', 60_000].map(parseDuration)).toEqual([
    86_400_000, 43_200_000, 1_800_000, 10_000, 500, 60_000,
  ]);
  for (const bad of ['1 d', 'd', '1w', '-1s', '1.5h', 0, -5, 1.5, null, undefined, {}])
    expect(parseDuration(bad)).toBeUndefined();
});

test('one audit.retention.success event a dropped day carries the policy, the day and its chain heads', () => {
  const [event, ...rest] = recorded(retentionEvents([day(2)], 400));
  expect(rest).toEqual([]);
  expect(event).toMatchObject({
    type: 'audit.retention.success',
    outcome: 'success',
    retention: {
      days: 400,
      partition: 'authtrail_events_20250101',
      day: '2025-01-01',
      rows: 6,
      first: '2025-01-01T00:00:00.000Z',
      last: '2025-01-01T23:59:59.999Z',
      chains: day(2).chainHeads,
    },
  });
  expect(event!.retention).not.toHaveProperty('parts');
  expect(retentionEvents([], 400)).toEqual([]);
});

test('a day with more than 100 chains is told in parts, and every head reaches the trail', () => {
  const events = recorded(retentionEvents([day(250)], 365));
  expect(events.map((e) => [e.retention?.part, e.retention?.parts])).toEqual([
    [1, 3],
    [2, 3],
    [3, 3],
  ]);
  expect(events.flatMap((e) => e.retention!.chains)).toEqual(day(250).chainHeads);
  for (const e of events) expect(e.retention).toMatchObject({ days: 365, rows: 750 });
});

test('a failed run is recorded by its code: store_unavailable when the store cannot be reached', () => {
  const secret = 'postgres://u:pw-Canary-77@db:5432/x';
  const down = new AuthtrailError('ERR_AUTHTRAIL_STORE_UNAVAILABLE', `cannot reach ${secret}`);
  const refused = new AuthtrailError('ERR_AUTHTRAIL_STORE_FAILED', 'refused');
  const [a, b, c] = recorded([
    retentionFailureEvent(down, 400),
    retentionFailureEvent(refused, 30),
    retentionFailureEvent(new Error(secret), 30),
  ]);
  expect(a).toMatchObject({
    type: 'audit.retention.failure',
    outcome: 'failure',
    reason: 'store_unavailable',
    error: { code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' },
    retention: { days: 400 },
  });
  expect(b).toMatchObject({ reason: 'unknown', error: { code: 'ERR_AUTHTRAIL_STORE_FAILED' } });
  expect(c).toMatchObject({ reason: 'unknown', error: { code: 'ERR_AUTHTRAIL_STORE_FAILED' } });
  expect(JSON.stringify([a, b, c])).not.toContain('pw-Canary-77');
});
