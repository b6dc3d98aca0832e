// The packages as users load them: CommonJS require and ESM import through the exports map, with
// type declarations for both, from plain Node (not jest's module loader).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const run = (args: string[]) =>
  execFileSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AUTHTRAIL_FINGERPRINT_KEY: 'k'.repeat(32) },
  });

const script = (load: string) => `
${load}
const sink = core.memorySink();
const app = express();
app.use(adapter.authtrail({ sinks: [sink] }));
app.get('/x', (req, res) => res.send('ok'));
const server = app.listen(0, '127.0.0.1', async () => {
  await fetch('http://127.0.0.1:' + server.address().port + '/x', { headers: { authorization: 'Bearer abc' } });
  await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(sink.events.map((e) => e.type + ' ' + e.observer.adapter).join(','));
  server.close();
});`;

test.each([
  [
    'CommonJS require',
    [
      '-e',
      script(
        "const core = require('@authtrail/core'); const adapter = require('@authtrail/express'); const express = require('express');",
      ),
    ],
  ],
  [
    'ESM import',
    [
      '--input-type=module',
      '-e',
      script(
        "import * as core from '@authtrail/core'; import * as adapter from '@authtrail/express'; import express from 'express';",
      ),
    ],
  ],
])('a plain Node app loads the packages by %s and audits with one line', (_name, args) => {
  expect(run(args)).toBe('api.access.success express');
});

test.each([
  [
    'CommonJS require',
    [
      '-e',
      "const k = require('@authtrail/koa'); const f = require('@authtrail/fastify'); process.stdout.write(typeof k.authtrail + ' ' + typeof f.authtrail)",
    ],
  ],
  [
    'ESM import',
    [
      '--input-type=module',
      '-e',
      "import { authtrail as k } from '@authtrail/koa'; import { authtrail as f } from '@authtrail/fastify'; process.stdout.write(typeof k + ' ' + typeof f)",
    ],
  ],
])('the Koa and Fastify adapters load by %s', (_name, args) => {
  expect(run(args as string[])).toBe('function function');
});

test.each(['core', 'express', 'koa', 'fastify'])(
  '@authtrail/%s ships declarations for both module systems',
  (name) => {
    const pkg = require(`@authtrail/${name}/package.json`) as {
      exports: Record<string, { import: { types: string }; require: { types: string } }>;
    };
    const dir = join(root, 'packages', name);
    expect(existsSync(join(dir, pkg.exports['.']!.import.types))).toBe(true);
    expect(existsSync(join(dir, pkg.exports['.']!.require.types))).toBe(true);
  },
);
