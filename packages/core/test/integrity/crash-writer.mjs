// One run of a service that dies without close(): records events, waits until they are written
// (and the chain's head is kept beside the log), then is killed. argv: <audit file> <events>
import { createAuditor, fileSink } from '@authtrail/core';

const [, , path, count] = process.argv;
const auditor = createAuditor({
  sinks: [fileSink(path)],
  keys: {
    chain: 'verify-chain-test-key-0123456789abcdef',
    fingerprint: 'verify-chain-test-fingerprint-0123456789',
  },
  delivery: { handleSignals: false },
});
for (let i = 0; i < Number(count); i++)
  auditor.record({ type: 'authn.login.success', user: { id: `crashed-${i}` } });
await auditor.flush();
// Give the state write a moment, as a live service would have, then die hard.
await new Promise((resolve) => setTimeout(resolve, 300));
process.kill(process.pid, 'SIGKILL');
