// One of several processes sharing a spill directory (cluster workers of one service): its sink is
// down for `downMs`, so what it records goes to its spill files; then the sink comes back and the
// process replays its own files. argv: <spillDir> <outFile> <tag> <events> <downMs> [hold]
// With `hold`, it prints "spilled" once everything is on disk and waits to be killed.
import { appendFileSync } from 'node:fs';
import { createAuditor } from '@authtrail/core';

const [, , spillDir, outFile, tag, count, downMs, hold] = process.argv;
const upAt = Date.now() + Number(downMs);
const sink = {
  name: 'siem',
  write(batch) {
    if (hold || Date.now() < upAt) return Promise.reject(new Error('collector down'));
    appendFileSync(outFile, batch.lines());
  },
};
const auditor = createAuditor({
  service: 'svc',
  sinks: [sink],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: {
    overflow: 'spill',
    spillDir,
    maxQueue: 10,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    handleSignals: false,
  },
});
for (let i = 0; i < Number(count); i++) {
  auditor.record({ type: 'app.thing.success', reason: `${tag}-${i}` });
  if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
}
if (hold) {
  while (auditor.stats().spilled < Number(count)) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200)); // the appends reach the file
  process.stdout.write('spilled\n');
  setInterval(() => {}, 1000);
} else {
  while (Date.now() < upAt) await new Promise((r) => setTimeout(r, 10));
  // A replay's backoff does not keep a process alive (its events are safe on disk): a server would.
  const alive = setInterval(() => {}, 1000);
  await auditor.flush();
  await auditor.close();
  clearInterval(alive);
  process.stdout.write(JSON.stringify(auditor.stats()));
}
