// Loads @authtrail/core's ESM and CommonJS builds in one process, creates an auditor from each
// (signals handled) and prints how many SIGTERM / SIGINT / beforeExit listeners the process has.
import { createRequire } from 'node:module';
import * as esm from '@authtrail/core';

const cjs = createRequire(import.meta.url)('@authtrail/core');
const options = { sinks: [{ name: 'noop', write() {} }], keys: { fingerprint: 'k'.repeat(32) } };
const auditors = [esm.createAuditor(options), cjs.createAuditor(options)];
const count = () => ['SIGTERM', 'SIGINT', 'beforeExit'].map((s) => process.listenerCount(s));
const open = count();
await Promise.all(auditors.map((a) => a.close()));
process.stdout.write(
  JSON.stringify({ twoCopies: esm.createAuditor !== cjs.createAuditor, open, closed: count() }),
);
