// The cost of one API event in process, without HTTP: observe (build), dispatch (serialise, queue)
// and delivery to a sink, 50 events per event-loop turn as under load.
//   node bench/observe-micro.mjs [noop|file]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditor, fileSink } from '@authtrail/core';

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const claims = { iss: 'https://op.example', sub: 'user-1234', aud: 'https://api.example' };
const token = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64({
  ...claims,
  client_id: 'bench-client',
  scope: 'read:items write:items',
  exp: 9999999999,
})}.${'s'.repeat(342)}`;
const kind = process.argv[2] ?? 'noop';
const sink =
  kind === 'file'
    ? fileSink(join(mkdtempSync(join(tmpdir(), 'authtrail-micro-')), 'audit.jsonl'))
    : { name: 'noop', write() {} };
const auditor = createAuditor({
  sinks: [sink],
  keys: { fingerprint: 'benchmark-fingerprint-key-0123456789' },
  delivery: { handleSignals: false },
});
// What an adapter drives: one handle, attached once.
const adapter = auditor.attach('bench');
const headers = { host: '127.0.0.1', authorization: `Bearer ${token}`, 'user-agent': 'autocannon' };
const response = { getHeader: () => undefined };
const facts = () => ({
  startTime: Date.now(),
  durationMs: 0.5,
  method: 'GET',
  url: '/api/items',
  route: '/api/items',
  status: 200,
  headers,
  response,
  ip: '127.0.0.1',
});
for (let round = 0; round < 6; round++) {
  const n = 100_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i += 50) {
    for (let j = 0; j < 50; j++) adapter.observe(facts());
    await new Promise((resolve) => setImmediate(resolve));
  }
  await auditor.flush();
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${kind}: ${us.toFixed(2)} µs per event (observe, dispatch, deliver)`);
}
await auditor.close();
