// The cost of the policy: the per-event check alone (ns), and one API event end to end in process
// (observe, policy, dispatch, a no-op sink) with no policy and with a 3-rule policy that the event
// passes through (every rule tried, none matches: the dearest case for a recorded event).
//   node bench/policy-micro.mjs
import { createAuditor } from '@authtrail/core';
import { build } from 'esbuild';

// The policy compiler is internal (in neither entry of @authtrail/core): bundled from source here,
// as the build does (esbuild, which tsup runs), and loaded from memory.
const bundled = await build({
  entryPoints: [new URL('../packages/core/src/policy.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
});
const { compilePolicy } = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`
);
const compiled = (policy) => {
  const issues = [];
  // The part of the option-check kit compilePolicy reports through.
  const report = { issues, issue: (path, received, fix) => issues.push({ path, received, fix }) };
  const check = compilePolicy(policy, report);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  return check;
};

const rules = [
  { action: 'skip', route: ['/healthz', '/metrics'] },
  { action: 'skip', type: 'api.access.*', client: ['probe', 'uptime'] },
  { action: 'record', route: '/internal/*', outcome: 'failure' },
];
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64({
  iss: 'https://op.example',
  sub: 'user-1234',
  aud: 'https://api.example',
  client_id: 'bench-client',
  scope: 'read:items write:items',
  exp: 9999999999,
})}.${'s'.repeat(342)}`;
const headers = { host: '127.0.0.1', authorization: `Bearer ${token}`, 'user-agent': 'autocannon' };
const facts = () => ({
  startTime: Date.now(),
  durationMs: 0.5,
  method: 'GET',
  url: '/api/items',
  route: '/api/items',
  status: 200,
  headers,
  response: { getHeader: () => undefined },
  ip: '127.0.0.1',
});
const keys = { fingerprint: 'benchmark-fingerprint-key-0123456789' };

// 1. The check alone, on a built event of the shape observe makes.
const event = {
  type: 'api.access.success',
  outcome: 'success',
  client: { id: 'bench-client' },
  http: { method: 'GET', route: '/api/items', path: '/api/items', status: 200, duration_ms: 0.5 },
};
const check = compiled(rules);
for (let round = 0; round < 3; round++) {
  const n = 5_000_000;
  let sum = 0;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) sum += check(event);
  const withRules = ((performance.now() - t0) * 1e6) / n;
  const none = compiled(undefined);
  t0 = performance.now();
  for (let i = 0; i < n; i++) sum += none === undefined ? -1 : none(event);
  const without = ((performance.now() - t0) * 1e6) / n;
  console.log(
    `check: no policy ${without.toFixed(1)} ns, 3 rules ${withRules.toFixed(1)} ns per event (${sum})`,
  );
}

// 2. End to end in process, the two auditors taking turns so both see the same machine state.
const auditors = {
  'no policy': createAuditor({
    sinks: [{ name: 'noop', write() {} }],
    keys,
    delivery: { handleSignals: false },
  }),
  '3 rules': createAuditor({
    sinks: [{ name: 'noop', write() {} }],
    keys,
    delivery: { handleSignals: false },
    policy: rules,
  }),
};
for (let round = 0; round < 6; round++) {
  const line = [];
  for (const [name, auditor] of Object.entries(auditors)) {
    const adapter = auditor.attach('bench');
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i += 50) {
      for (let j = 0; j < 50; j++) adapter.observe(facts());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await auditor.flush();
    line.push(`${name} ${(((performance.now() - t0) * 1000) / n).toFixed(3)} µs`);
  }
  console.log(`per event (observe, policy, dispatch, deliver): ${line.join(', ')}`);
}
for (const auditor of Object.values(auditors)) await auditor.close();
