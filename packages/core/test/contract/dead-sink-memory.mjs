// Run with --expose-gc: records many large events while the only sink is dead, and prints how much
// the heap grew. argv: <events>
import { createAuditor } from '@authtrail/core';

const n = Number(process.argv[2]);
const dead = { name: 'dead', write: () => new Promise(() => {}) }; // never answers
const auditor = createAuditor({
  sinks: [dead],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { maxQueue: 1000, handleSignals: false },
  limits: { maxStringLength: 4096 },
});
const turn = () => new Promise((r) => setImmediate(r));
globalThis.gc();
const before = process.memoryUsage().heapUsed;
const agent = 'x'.repeat(2000);
for (let i = 0; i < n; i++) {
  auditor.record({ type: 'app.thing.success', source: { user_agent: agent + i } });
  if (i % 1000 === 999) await turn();
}
await turn();
globalThis.gc();
const after = process.memoryUsage().heapUsed;
process.stdout.write(
  JSON.stringify({ grewMb: (after - before) / 1048576, stats: auditor.stats() }),
);
process.exit(0);
