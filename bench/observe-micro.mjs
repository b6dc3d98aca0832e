import { createAuditor } from '@authtrail/core';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64({ iss: 'https://op.example', sub: 'user-1234', aud: 'https://api.example', client_id: 'bench-client', scope: 'read:items write:items', exp: 9999999999 })}.${'s'.repeat(342)}`;
const auditor = createAuditor({
  sinks: [{ name: 'noop', write() {} }],
  keys: { fingerprint: 'k'.repeat(32) },
  delivery: { maxQueue: 10_000_000 },
});
const headers = {
  host: '127.0.0.1',
  authorization: `Bearer ${token}`,
  'user-agent': 'autocannon',
  connection: 'keep-alive',
};
const res = { getHeader: () => undefined };
const facts = () => ({
  startTime: Date.now(),
  durationMs: 0.5,
  method: 'GET',
  url: '/api/items',
  route: '/api/items',
  status: 200,
  aborted: false,
  headers,
  response: res,
  ip: '127.0.0.1',
});
for (let round = 0; round < 5; round++) {
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) auditor.observe(facts());
  const dt = performance.now() - t0;
  console.log(`${((dt * 1000) / n).toFixed(2)} µs per observe`);
  await new Promise((r) => setImmediate(r));
}
