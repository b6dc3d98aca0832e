// A process whose HTTP sink's collector accepts and never answers: once close() resolved, nothing
// of authtrail may keep it alive (an open request would until its 60 s timeout).
// argv: <httpSink|splunkHec|elasticsearchBulk> <collector URL>. Reads one line from stdin (the
// collector has the request) before closing; prints "closed" once close() resolved.
import { createInterface } from 'node:readline';
import { createAuditor, elasticsearchBulk, httpSink, splunkHec } from '@authtrail/core';

const [, , kind, url] = process.argv;
const options = { timeoutMs: 60_000 };
const sink = {
  httpSink: () => httpSink(`${url}/ingest`, options),
  splunkHec: () => splunkHec(url, { ...options, token: 'hec-token-for-tests' }),
  elasticsearchBulk: () => elasticsearchBulk(url, { ...options, index: 'audit' }),
}[kind]();
const auditor = createAuditor({
  sinks: [sink],
  keys: { fingerprint: 'contract-test-fingerprint-key-0123456789' },
  delivery: { maxWaitMs: 0, closeTimeoutMs: 200, handleSignals: false },
});
for (let i = 0; i < 5; i++) auditor.record({ type: 'app.thing.success', reason: String(i) });
const input = createInterface({ input: process.stdin });
await new Promise((resolve) => input.once('line', resolve));
input.close();
await auditor.close();
process.stdout.write('closed\n');
