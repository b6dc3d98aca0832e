// One benchmark server: node bench/server.mjs <framework> <config>. Prints its port, then serves
// GET /api/items until killed. Configs: bare (no auditing), noop (authtrail, sink discards),
// file (authtrail, file sink to a temp file).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { fileSink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const [, , framework = 'express', config = 'bare'] = process.argv;
const keys = { fingerprint: 'benchmark-fingerprint-key-0123456789' };
const sinks = {
  noop: () => [{ name: 'noop', write() {} }],
  file: () => [fileSink(join(mkdtempSync(join(tmpdir(), 'authtrail-bench-')), 'audit.jsonl'))],
};

if (framework !== 'express') throw new Error(`unknown framework ${framework}`);
const app = express();
if (config !== 'bare') app.use(authtrail({ sinks: sinks[config](), keys, service: 'bench' }));
app.get('/api/items', (_req, res) => res.json({ items: [1, 2, 3] }));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
for (const s of ['SIGINT', 'SIGTERM'])
  process.on(
    s,
    () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 200).unref(),
  );
