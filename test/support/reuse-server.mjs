// Child process of test/detect-token-reuse.e2e.test.ts (jest cannot load the ESM-only oidc-provider
// in process): two instances of the testbed's OpenID Provider (A and B: the same clients and
// fingerprint key, each its own token store and auditor, as two instances behind a load balancer
// whose stores are not shared), each audited to its own file with a detectors() sink. STATE=redis
// gives each a redisState on REDIS_PREFIX (the instances share counts), else each its own memory.
// The first stdout line is { ready: { issuer, control } } (A's issuer); GET <control>/issuers
// answers { a, b }; GET <control>/events flushes both auditors and answers with A's audit file,
// GET <control>/b with B's events as a JSON array.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileSink } from '@authtrail/core';
import { startProvider } from '@authtrail/testbed/stack.mjs';
import { detectors } from '@authtrail/detect';
import { redisState } from '@authtrail/detect-redis';

const file = process.env.AUDIT_FILE;
const files = { a: file, b: `${file}.b.jsonl` };
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const state = () =>
  process.env.STATE === 'redis'
    ? redisState({ redis: 'redis://127.0.0.1:6379', prefix: process.env.REDIS_PREFIX })
    : undefined;

const ops = {};
for (const name of ['a', 'b'])
  ops[name] = await startProvider({
    rpUrl: 'http://127.0.0.1:9',
    sinks: [fileSink(files[name]), detectors({ state: state() })],
  });
const parse = (text) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
const control = await listen(
  createServer(async (req, res) => {
    if (req.url === '/issuers')
      return res.end(JSON.stringify({ a: ops.a.issuer, b: ops.b.issuer }));
    if (req.url !== '/events' && req.url !== '/b') return res.writeHead(404).end();
    await Promise.all([ops.a.auditor.flush(), ops.b.auditor.flush()]);
    const text = await readFile(req.url === '/b' ? files.b : files.a, 'utf8').catch(() => '');
    res.end(req.url === '/b' ? JSON.stringify(parse(text)) : text);
  }),
);
const controlUrl = `http://127.0.0.1:${control.address().port}`;
process.stdout.write(
  JSON.stringify({ ready: { issuer: ops.a.issuer, control: controlUrl } }) + '\n',
);
process.on('SIGTERM', async () => {
  control.closeAllConnections();
  await Promise.all([ops.a.close(), ops.b.close()]);
  process.exit(0);
});
