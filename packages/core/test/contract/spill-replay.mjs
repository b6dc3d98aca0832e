// Starts an auditor on a spill directory that an earlier process left, with its sink up: replays
// what is there, closes, and prints what it measured. A crash (an unhandled rejection) ends it with
// a non-zero code; a replay that spins never ends (the parent's timeout says so).
// argv: <spillDir> <outFile> [service] [sink name]
import { appendFileSync } from 'node:fs';
import { createAuditor } from '@authtrail/core';

const [, , spillDir, outFile, service = 'svc', name = 'siem'] = process.argv;
const up = {
  name,
  write(batch) {
    appendFileSync(outFile, batch.lines());
  },
};
const cpu = process.cpuUsage();
const started = performance.now();
const auditor = createAuditor({
  service,
  sinks: [up],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { overflow: 'spill', spillDir, minRetryDelayMs: 5, handleSignals: false },
});
// A replay's backoff does not keep a process alive (its events are safe on disk): a server would.
const alive = setInterval(() => {}, 1000);
await auditor.flush();
await auditor.close();
clearInterval(alive);
const used = process.cpuUsage(cpu);
process.stdout.write(
  JSON.stringify({
    stats: auditor.stats(),
    cpuMs: (used.user + used.system) / 1000,
    ms: performance.now() - started,
  }),
);
