// The default stdout sink writing into a pipe its reader stopped reading (a log shipper that hung):
// records until the sink is stuck, says so on stderr, and waits for SIGTERM. argv: <closeTimeoutMs>
import { createAuditor } from '@authtrail/core';

const auditor = createAuditor({
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { closeTimeoutMs: Number(process.argv[2]) },
  limits: { maxStringLength: 4096 },
});
const agent = 'x'.repeat(4000);
// Keeps recording (the app goes on serving) until a batch has been in the sink's hands for a while.
let last = -1;
let still = 0;
const timer = setInterval(() => {
  try {
    for (let i = 0; i < 200; i++)
      auditor.record({ type: 'app.thing.success', source: { user_agent: agent } });
  } catch {
    return; // closed: the signal is being handled
  }
  const { delivered } = auditor.stats();
  still = delivered === last ? still + 1 : 0;
  last = delivered;
  if (still === 5) process.stderr.write('stuck\n');
}, 20);
timer.unref();
setInterval(() => {}, 1000); // a server would keep the process alive
