// Records events and lets the process end by itself, without flush() or close(). The queue waits
// 200 ms to gather a batch (on a timer that does not keep the process alive): only the beforeExit
// handling writes them. argv: <audit file> [no-handling]
import { createAuditor, fileSink } from '@authtrail/core';

const [, , path, mode] = process.argv;
const auditor = createAuditor({
  sinks: [fileSink(path)],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { maxWaitMs: 200, handleSignals: mode !== 'no-handling' },
});
for (let i = 0; i < 100; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
