// The packages as users get them: the tarballs `npm run pack` makes, unpacked into a fresh project
// outside the repository, loaded by CommonJS require and ESM import through the exports map from
// plain Node (not jest's module loader). Third-party dependencies are linked from the workspace:
// the test stays offline (npm cannot resolve version ranges without the registry).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { buildSync } from 'esbuild';

const root = join(__dirname, '..');
const NAMES = [
  'cli',
  'console',
  'core',
  'detect',
  'detect-redis',
  'express',
  'fastify',
  'jest',
  'koa',
  'schema',
  'store',
  'store-embedded',
  'store-postgres',
  'winston',
];
const THIRD_PARTY = [
  '@electric-sql/pglite',
  'express',
  'fastify-plugin',
  'ioredis',
  'jose',
  'koa',
  'pg',
  'pg-copy-streams',
  'winston',
];
let dir: string;
let app: string;
let packed: Map<string, string[]>;
/** What `npm run pack` printed. */
let installLine: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authtrail-pack-'));
  app = join(dir, 'app');
  installLine = execFileSync(
    process.execPath,
    [join(root, 'scripts', 'pack.mjs'), join(dir, 'packs')],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  packed = new Map();
  for (const name of NAMES) {
    const target = join(app, 'node_modules', '@authtrail', name);
    mkdirSync(target, { recursive: true });
    const tgz = join(dir, 'packs', `authtrail-${name}-0.1.0.tgz`);
    execFileSync('tar', ['xzf', tgz, '-C', target, '--strip-components=1']);
    const list = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' });
    packed.set(name, list.trim().split('\n'));
  }
  for (const dep of THIRD_PARTY) {
    mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'junction');
  }
}, 60000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('npm run pack prints an install line that works from any directory: absolute paths of every tarball', () => {
  const paths = /npm install (.+)\n/.exec(installLine)![1]!.split(' ');
  const tarballs = readdirSync(join(dir, 'packs')).map((file) => join(dir, 'packs', file));
  expect(paths.sort()).toEqual(tarballs.sort());
  expect(paths).toEqual(
    expect.arrayContaining(NAMES.map((name) => join(dir, 'packs', `authtrail-${name}-0.1.0.tgz`))),
  );
  for (const path of paths) expect(existsSync(path)).toBe(true);
});

const run = (args: string[]) =>
  execFileSync(process.execPath, args, {
    cwd: app,
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
])(
  'a plain Node app with the packed tarballs loads them by %s and audits with one line',
  (_name, args) => {
    expect(run(args)).toBe('api.access.success express');
  },
);

test.each([
  [
    'CommonJS require',
    [
      '-e',
      "const k = require('@authtrail/koa'); const f = require('@authtrail/fastify'); const w = require('@authtrail/winston'); const j = require('@authtrail/jest'); process.stdout.write([typeof k.authtrail, typeof f.authtrail, typeof w.winstonSink, typeof j.createTestAuditor].join(' '))",
    ],
  ],
  [
    'ESM import',
    [
      '--input-type=module',
      '-e',
      "import { authtrail as k } from '@authtrail/koa'; import { authtrail as f } from '@authtrail/fastify'; import { winstonSink as w } from '@authtrail/winston'; import { createTestAuditor as j } from '@authtrail/jest'; process.stdout.write([typeof k, typeof f, typeof w, typeof j].join(' '))",
    ],
  ],
])('the Koa, Fastify, winston and jest tarballs load by %s', (_name, args) => {
  expect(run(args as string[])).toBe('function function function function');
});

test.each([
  [
    'CommonJS require',
    [
      '-e',
      "const s = require('@authtrail/store'); const p = require('@authtrail/store-postgres'); const e = require('@authtrail/store-embedded'); process.stdout.write([typeof s.storeSink, typeof s.compileQuery, s.migrations.length > 0, typeof p.postgresStore, typeof e.embeddedStore].join(' '))",
    ],
  ],
  [
    'ESM import',
    [
      '--input-type=module',
      '-e',
      "import { storeSink, compileQuery, migrations } from '@authtrail/store'; import { postgresStore } from '@authtrail/store-postgres'; import { embeddedStore } from '@authtrail/store-embedded'; process.stdout.write([typeof storeSink, typeof compileQuery, migrations.length > 0, typeof postgresStore, typeof embeddedStore].join(' '))",
    ],
  ],
])('the tarballs of the store and both engines load by %s', (_name, args) => {
  expect(run(args as string[])).toBe('function function true function function');
});

// A sink package's view of core: the sink entry (checkOptions, formatEvent) beside the main one.
const sinkScript = (load: string) => `
${load}
let code;
const bad = sink.checkOptions('probeSink', { format: 'xml' });
bad.format();
try {
  bad.done();
} catch (error) {
  // Thrown by the sink entry's copy, recognised by the main entry's class.
  code = error instanceof core.AuthtrailError && error.code;
}
const check = sink.checkOptions('probeSink', {});
const format = check.format('ocsf');
check.done();
const seen = [];
const auditor = core.createAuditor({
  sinks: [{ name: 'probe', write: (batch) => { for (const e of batch.events) seen.push(sink.formatEvent(e, format).class_uid); } }],
  delivery: { handleSignals: false },
});
auditor.record({ type: 'authn.login.success' });
auditor.close().then(() => process.stdout.write(code + ' ' + seen.join(',')));`;

test.each([
  [
    'CommonJS require',
    [
      '-e',
      sinkScript(
        "const core = require('@authtrail/core'); const sink = require('@authtrail/core/sink');",
      ),
    ],
  ],
  [
    'ESM import',
    [
      '--input-type=module',
      '-e',
      sinkScript(
        "import * as core from '@authtrail/core'; import * as sink from '@authtrail/core/sink';",
      ),
    ],
  ],
])(
  'a sink built on the packed @authtrail/core/sink loads by %s and writes through an auditor',
  (_name, args) => {
    expect(run(args as string[])).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS 3002');
  },
);

test('@authtrail/core ships its sink entry, with declarations for both module systems, and stays small', () => {
  const installed = join(app, 'node_modules/@authtrail/core');
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    exports: Record<string, Record<'import' | 'require', { types: string; default: string }>>;
  };
  const entry = pkg.exports['./sink']!;
  for (const file of [
    entry.import.types,
    entry.import.default,
    entry.require.types,
    entry.require.default,
  ])
    expect(existsSync(join(installed, file))).toBe(true);
  // Nothing beyond the built entries and their shared chunks: no sources, no maps, no tests.
  expect(
    packed.get('core')!.filter((f) => !/^package\/(dist\/[\w-]+\.(c?js|d\.c?ts)|[\w.]+)$/.test(f)),
  ).toEqual([]);
  // Packed: 156 kB before the sink entry, 168 kB with it (the CommonJS build of the sink entry is
  // a bundle of its own, 26 kB: formats and HTTP kit again); 164 kB once the formats moved to
  // @authtrail/schema (26 kB packed), which core requires instead of bundling: the sink entry's
  // CommonJS build is 11 kB, the HTTP kit. The budget catches maps or sources.
  expect(statSync(join(dir, 'packs', 'authtrail-core-0.1.0.tgz')).size).toBeLessThan(200_000);
});

// The schema is for browsers too (a console, a report page): its ESM build, installed from the
// tarball, bundles for the browser platform (esbuild fails on any Node built-in), and the bundle
// runs in a bare V8 context that has the language's globals and URL, as a page has, and no
// process, Buffer, require or TextEncoder.
test('the packed @authtrail/schema bundles for a browser and runs without any Node global', () => {
  const { outputFiles } = buildSync({
    stdin: { contents: "export * from '@authtrail/schema';", resolveDir: app },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'schema',
    write: false,
    logLevel: 'silent',
  });
  const page = createContext({ URL });
  runInContext(outputFiles![0]!.text, page);
  const seen = runInContext(
    `(() => {
      const event = {
        schema: 1, id: '01938f5e-7a00-7000-8000-000000000001', time: '2025-01-02T03:04:05.678Z',
        type: schema.EventTypes.LOGIN_FAILURE, outcome: 'failure', reason: schema.Reasons.STATE_MISMATCH,
        observer: { role: 'rp', service: 'web', instance: 'h/1', adapter: 'express' },
      };
      const ips = ['203.0.113.9', '2001:db8::1', 'unknown'].map(
        (ip) => schema.formatEvent({ ...event, source: { ip } }, 'ecs').source.ip ?? null,
      );
      let code;
      try { schema.formatEvent(event, 'xml'); } catch (error) {
        code = error instanceof schema.AuthtrailError && error.code;
      }
      return JSON.stringify({
        globals: [typeof process, typeof Buffer, typeof require, typeof TextEncoder],
        ecs: schema.formatEvent(event, 'ecs').event.reason,
        ocsf: schema.formatEvent(event, 'ocsf').class_uid,
        pretty: schema.prettyLine(event),
        ips, code,
      });
    })()`,
    page,
  ) as string;
  expect(JSON.parse(seen)).toEqual({
    globals: ['undefined', 'undefined', 'undefined', 'undefined'],
    ecs: 'state_mismatch',
    ocsf: 3002,
    pretty: '03:04:05.678Z failure  authn.login.failure reason=state_mismatch',
    ips: ['203.0.113.9', '2001:db8::1', null],
    code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
  });
});

// Core no longer bundles the schema: one copy of each build, shared by both of core's entries and
// by an app importing the schema itself. An error thrown through core's CommonJS build is an
// AuthtrailError to the schema's ESM build (the brand on the prototype, not the class identity).
test("core's errors are AuthtrailErrors to the packed schema, across ESM and CommonJS", () => {
  const out = run([
    '--input-type=module',
    '-e',
    `import { createRequire } from 'node:module';
import { AuthtrailError, EventTypes } from '@authtrail/schema';
const core = createRequire(import.meta.url)('@authtrail/core');
let seen;
try { core.createAuditor({ sinks: 'stdout' }); } catch (error) {
  seen = [error instanceof AuthtrailError, error.code, core.AuthtrailError === AuthtrailError];
}
process.stdout.write(JSON.stringify([...seen, core.EventTypes === EventTypes]));`,
  ]);
  // false, false: the two module systems load two copies, and instanceof holds regardless.
  expect(JSON.parse(out)).toEqual([true, 'ERR_AUTHTRAIL_INVALID_OPTIONS', false, false]);
});

test('the packed command runs from its bin', () => {
  const pkg = JSON.parse(
    readFileSync(join(app, 'node_modules/@authtrail/cli/package.json'), 'utf8'),
  ) as { bin: Record<string, string> };
  const usage = run([join(app, 'node_modules/@authtrail/cli', pkg.bin.authtrail!), '--help']);
  expect(usage).toMatch(/^Usage: authtrail verify/);
});

// The store commands import @authtrail/store and @authtrail/store-postgres (and pg) only when run:
// from the tarballs they must still find them, as dependencies of the installed CLI.
test('the packed command loads the store packages when a store command runs', () => {
  const bin = join(app, 'node_modules/@authtrail/cli/bin/authtrail.js');
  const query = spawnSync(process.execPath, [bin, 'query', 'usr:alice'], {
    cwd: app,
    encoding: 'utf8',
  });
  expect([query.status, query.stderr]).toEqual([2, expect.stringContaining('unknown field "usr"')]);
  const store = spawnSync(
    process.execPath,
    [bin, 'query', 'user:alice', '--store', 'postgres://a:Pw-Canary-9@127.0.0.1:1/test'],
    { cwd: app, encoding: 'utf8' },
  );
  expect([store.status, store.stderr]).toEqual([
    1,
    expect.stringContaining('is unavailable (ECONNREFUSED)'),
  ]);
  expect(store.stderr).not.toContain('Pw-Canary-9');
});

test.each(NAMES)(
  '@authtrail/%s ships a README, the LICENSE, its repository and no source maps',
  (name) => {
    const files = packed.get(name)!;
    expect(files).toEqual(expect.arrayContaining(['package/README.md', 'package/LICENSE']));
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const installed = join(app, 'node_modules/@authtrail', name);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(root, 'LICENSE'), 'utf8'),
    );
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      license: string;
      repository: { type: string; url: string; directory: string };
    };
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository).toMatchObject({ type: 'git', directory: `packages/${name}` });
    expect(pkg.repository.url).toMatch(/^git\+https:\/\/.+\.git$/);
  },
);

test.each([
  'console',
  'core',
  'detect',
  'detect-redis',
  'express',
  'koa',
  'fastify',
  'winston',
  'jest',
  'schema',
  'store',
  'store-embedded',
  'store-postgres',
])('@authtrail/%s ships declarations for both module systems', (name) => {
  const dir = join(app, 'node_modules/@authtrail', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports: Record<string, { import: { types: string }; require: { types: string } }>;
  };
  expect(existsSync(join(dir, pkg.exports['.']!.import.types))).toBe(true);
  expect(existsSync(join(dir, pkg.exports['.']!.require.types))).toBe(true);
});

// A fresh clone runs `npm ci` before any build: the bin must point at a committed file, or npm
// skips linking it and `npx authtrail` asks the registry for someone else's package.
test('npm links the workspace authtrail bin to a committed shim that needs no build to be linked', () => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { bin?: Record<string, string> }>;
  };
  expect(lock.packages['packages/cli']!.bin).toEqual({ authtrail: 'bin/authtrail.js' });
  const bin = join(root, 'node_modules', '.bin', 'authtrail');
  expect(realpathSync(bin)).toBe(realpathSync(join(root, 'packages/cli/bin/authtrail.js')));
  expect(
    execFileSync(bin, ['--help'], {
      cwd: root,
      encoding: 'utf8',
      shell: process.platform === 'win32',
    }),
  ).toMatch(/^Usage: authtrail verify/);
});

test('the shim says how to build when the command is not built', () => {
  const copy = join(dir, 'unbuilt', 'bin');
  mkdirSync(copy, { recursive: true });
  const shim = join(copy, 'authtrail.js');
  copyFileSync(join(root, 'packages/cli/bin/authtrail.js'), shim);
  copyFileSync(join(root, 'packages/cli/package.json'), join(dir, 'unbuilt', 'package.json'));
  let failure: { status: number; stderr: string } | undefined;
  try {
    execFileSync(process.execPath, [shim, '--help'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    failure = err as { status: number; stderr: string };
  }
  expect(failure?.status).toBe(2);
  expect(failure?.stderr).toContain('npm run build');
  expect(readdirSync(join(dir, 'unbuilt'))).not.toContain('dist');
});
