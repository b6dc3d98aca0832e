// A script (no server keeps it alive) records events while its only sink is down, then awaits
// close(): close must see it through (spill written, chain closed) before the process ends.
// argv: <spillDir>. Prints the stats once close() resolved.
import { createAuditor } from '@authtrail/core';

const auditor = createAuditor({
  service: 'job',
  sinks: [{ name: 'siem', write: () => Promise.reject(new Error('collector down')) }],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: {
    overflow: 'spill',
    spillDir: process.argv[2],
    maxQueue: 5,
    closeTimeoutMs: 300,
    handleSignals: false,
  },
});
for (let i = 0; i < 20; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
await auditor.close();
process.stdout.write(JSON.stringify(auditor.stats()));
