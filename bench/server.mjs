// One benchmark server: node bench/server.mjs <express|koa|fastify> <config>. Prints its port, then
// serves GET /api/items until killed. Configs: bare (no auditing), noop (authtrail, sink discards),
// file (authtrail, file sink to a temp file).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSink } from '@authtrail/core';

const [, , framework = 'express', config = 'bare'] = process.argv;
const sinks = {
  noop: () => [{ name: 'noop', write() {} }],
  file: () => [fileSink(join(mkdtempSync(join(tmpdir(), 'authtrail-bench-')), 'audit.jsonl'))],
};
const options =
  config === 'bare'
    ? undefined
    : {
        sinks: sinks[config](),
        keys: { fingerprint: 'benchmark-fingerprint-key-0123456789' },
        service: 'bench',
      };
const items = { items: [1, 2, 3] };

const servers = {
  async express() {
    const { default: express } = await import('express');
    const { authtrail } = await import('@authtrail/express');
    const app = express();
    if (options) app.use(authtrail(options));
    app.get('/api/items', (_req, res) => res.json(items));
    return new Promise((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
  },
  async koa() {
    const { default: Koa } = await import('koa');
    const { authtrail } = await import('@authtrail/koa');
    const app = new Koa();
    if (options) app.use(authtrail(options));
    app.use((ctx) => {
      if (ctx.path === '/api/items') ctx.body = items;
    });
    return new Promise((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
  },
  async fastify() {
    const { default: Fastify } = await import('fastify');
    const { authtrail } = await import('@authtrail/fastify');
    const app = Fastify();
    if (options) await app.register(authtrail, options);
    app.get('/api/items', async () => items);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  },
};

const server = await servers[framework]();
process.stdout.write(`${server.address().port}\n`);
for (const s of ['SIGINT', 'SIGTERM'])
  process.on(
    s,
    () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 200).unref(),
  );
