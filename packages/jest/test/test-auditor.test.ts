// The test auditor's defaults that keep tests deterministic: heartbeats come from a timer, so a
// test would capture one or not depending on how long it ran.
import { createTestAuditor } from '@authtrail/jest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('records no heartbeat unless a test asks for one (real time: 1.5 s)', async () => {
  const quiet = createTestAuditor({ ids: 'sequential' });
  const asked = createTestAuditor({ heartbeat: 1 });
  await sleep(1500);
  await quiet.close();
  await asked.close();
  const beats = (events: typeof quiet.events) =>
    events.filter((e) => e.type === 'audit.heartbeat.success');
  expect(beats(quiet.events)).toEqual([]);
  // One at 1 s, and the closing one.
  expect(beats(asked.events).map((b) => [b.heartbeat?.n, b.reason])).toEqual([
    [1, undefined],
    [2, 'close'],
  ]);
});
