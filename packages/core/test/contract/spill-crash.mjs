// First life: the sink is down, 100 events go to the spill file, then the parent kills the process
// (SIGKILL: no handler runs). Second life: the sink is up; what the spill file held is replayed.
// argv: <spillDir> <outFile> first|second
import { appendFileSync } from 'node:fs';
import { createAuditor } from '@authtrail/core';

const [, , spillDir, outFile, life] = process.argv;
const down = { name: 'siem', write: () => Promise.reject(new Error('down')) };
const up = {
  name: 'siem',
  write(batch) {
    appendFileSync(outFile, batch.lines());
  },
};
const auditor = createAuditor({
  service: 'crashy',
  sinks: [life === 'first' ? down : up],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { overflow: 'spill', spillDir, maxQueue: 10, minRetryDelayMs: 5, handleSignals: false },
});
if (life === 'first') {
  for (let i = 0; i < 100; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
  while (auditor.stats().spilled < 100) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200)); // the appends reach the file
  process.stdout.write('spilled\n');
  setInterval(() => {}, 1000); // wait to be killed
} else {
  await auditor.flush();
  await auditor.close();
}
