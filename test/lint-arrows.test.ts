// The arrows between packages are lint rules (eslint.config.mjs). Probe files, linted as if they
// sat in a package's src/, import across them: each arrow that must never be is reported, each one
// allowed is not. ESLint runs in a child process: its flat config is an ES module, which jest's
// CommonJS loader cannot import.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** The `no-restricted-imports` reports for `code` placed at `file`: `line: import source`. */
function reports(file: string, code: string): string[] {
  const script = `
import { ESLint } from 'eslint';
const eslint = new ESLint({
  cwd: ${JSON.stringify(root)},
  // Type information is not needed for this rule, and a probe file is in no tsconfig.
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});
const [result] = await eslint.lintText(${JSON.stringify(code)}, { filePath: ${JSON.stringify(file)} });
process.stdout.write(JSON.stringify(result.messages.map((m) => m.line + ': ' + m.message)));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

const PROBE = [
  "import { checkOptions, httpSender, type Batch } from '@authtrail/core/sink';",
  "import { createAuditor, type AuditEvent } from '@authtrail/core';",
  "import { attachAdapter } from '@authtrail/core';",
  "import type { AdapterOptions } from '@authtrail/core';",
  "import { resolveOptions } from '@authtrail/core/options';",
  "import { sender } from '@authtrail/core/dist/sink.js';",
  "import { authtrail } from '@authtrail/express';",
  'export const all = [checkOptions, httpSender, createAuditor, attachAdapter, resolveOptions, sender, authtrail];',
  'export type Some = Batch | AuditEvent | AdapterOptions;',
].join('\n');

/** The probe's lines that were reported (once each: two patterns may catch one import), and what. */
const flagged = (messages: string[]) => [
  ...new Set(messages.map((m) => m.replace(/^(\d+): '?([^' ]+)'?.*$/, '$1 $2'))),
];

test('a sink outside core imports @authtrail/core/sink and the app API; not the adapter kit, no deeper path, no adapter', () => {
  const messages = reports('packages/winston/src/probe.ts', PROBE);
  expect(flagged(messages)).toEqual([
    '3 attachAdapter',
    '4 AdapterOptions',
    '5 @authtrail/core/options',
    '6 @authtrail/core/dist/sink.js',
    '7 @authtrail/express',
  ]);
  expect(messages[0]).toContain('A sink builds on @authtrail/core/sink and the app API');
  expect(messages[2]).toContain('Import @authtrail/core or @authtrail/core/sink, nothing deeper.');
});

test('an adapter imports both entries of core, the adapter kit included; no deeper path, no other adapter', () => {
  expect(flagged(reports('packages/express/src/probe.ts', PROBE))).toEqual([
    '5 @authtrail/core/options',
    '6 @authtrail/core/dist/sink.js',
    '7 @authtrail/express',
  ]);
});

test('core imports no authtrail package but the schema (not in this probe), itself by name included', () => {
  expect(flagged(reports('packages/core/src/probe.ts', PROBE))).toEqual([
    '1 @authtrail/core/sink',
    '2 @authtrail/core',
    '3 @authtrail/core',
    '4 @authtrail/core',
    '5 @authtrail/core/options',
    '6 @authtrail/core/dist/sink.js',
    '7 @authtrail/express',
  ]);
});

test('the winston sink itself passes the arrows', () => {
  const source = readFileSync(join(root, 'packages/winston/src/index.ts'), 'utf8');
  expect(source).toContain("from '@authtrail/core/sink'");
  expect(reports('packages/winston/src/index.ts', source)).toEqual([]);
});

const SCHEMA_PROBE = [
  "import { createAuditor } from '@authtrail/core';",
  "import { readFileSync } from 'node:fs';",
  "import { Buffer } from 'buffer';",
  "import { readFile } from 'fs/promises';",
  "import { decodeJwt } from 'jose';",
  "import { EventTypes } from './taxonomy.js';",
  "import type { AuditEvent } from '../types.js';",
  'export const all = [createAuditor, readFileSync, Buffer, readFile, decodeJwt, EventTypes];',
  'export type Some = AuditEvent;',
].join('\n');

test('the schema imports nothing: no authtrail package, no Node built-in with or without node:, no dependency', () => {
  const messages = reports('packages/schema/src/probe.ts', SCHEMA_PROBE);
  expect(flagged(messages)).toEqual([
    '1 @authtrail/core',
    '2 node:fs',
    '3 buffer',
    '4 fs/promises',
    '5 jose',
  ]);
  // One report a line: the patterns do not overlap.
  expect(messages).toHaveLength(5);
  expect(messages[0]).toContain('schema imports no authtrail package');
  expect(messages[1]).toContain('schema uses no Node.js API');
  expect(messages[2]).toContain('schema uses no Node.js API');
  expect(messages[4]).toContain('schema has no dependencies');
});

test('core imports @authtrail/schema by its name, never its internals', () => {
  const probe = [
    "import { EventTypes, type AuditEvent } from '@authtrail/schema';",
    "import { toEcs } from '@authtrail/schema/dist/index.js';",
    'export const all = [EventTypes, toEcs];',
    'export type Some = AuditEvent;',
  ].join('\n');
  expect(flagged(reports('packages/core/src/probe.ts', probe))).toEqual([
    '2 @authtrail/schema/dist/index.js',
  ]);
});

test('the schema itself passes the arrows', () => {
  const script = `
import { ESLint } from 'eslint';
const eslint = new ESLint({
  cwd: ${JSON.stringify(root)},
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});
const results = await eslint.lintFiles(['packages/schema/src/**/*.ts']);
process.stdout.write(JSON.stringify(results.map((r) => [r.filePath, r.messages.map((m) => m.message)])));`;
  const results = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    }),
  ) as [string, string[]][];
  expect(results.map(([file]) => file)).toContain(join(root, 'packages/schema/src/index.ts'));
  expect(results.filter(([, messages]) => messages.length > 0)).toEqual([]);
});

const STORE_PROBE = [
  "import { checkOptions, type Sink } from '@authtrail/core/sink';",
  "import { AuthtrailError, type AuditEvent } from '@authtrail/schema';",
  "import { createAuditor } from '@authtrail/core';",
  "import pg from 'pg';",
  "import { authtrail } from '@authtrail/express';",
  "import { resolveOptions } from '@authtrail/core/options';",
  "import { migrations } from '@authtrail/store';",
  "import { eventRow } from '@authtrail/store/src/schema.js';",
  'export const all = [checkOptions, AuthtrailError, createAuditor, pg, authtrail, resolveOptions, migrations, eventRow];',
  'export type Some = Sink | AuditEvent;',
].join('\n');

test("the store imports the schema and core's sink entry only: not the app API, no driver, no adapter", () => {
  const messages = reports('packages/store/src/probe.ts', STORE_PROBE);
  expect(flagged(messages)).toEqual([
    '3 @authtrail/core',
    '4 pg',
    '5 @authtrail/express',
    '6 @authtrail/core/options',
    '7 @authtrail/store',
    '8 @authtrail/store/src/schema.js',
  ]);
  expect(messages[0]).toContain(
    'The store builds on @authtrail/schema and @authtrail/core/sink only',
  );
  expect(messages[1]).toContain('drivers live in its engines');
});

test('the PostgreSQL engine imports the store, the schema, core/sink and pg; not the app API, no internals', () => {
  const messages = reports('packages/store-postgres/src/probe.ts', STORE_PROBE);
  expect(flagged(messages)).toEqual([
    '3 @authtrail/core',
    '5 @authtrail/express',
    '6 @authtrail/core/options',
    '8 @authtrail/store/src/schema.js',
  ]);
  expect(messages[0]).toContain('A store engine builds on @authtrail/store');
});

test('the embedded engine imports the store, the PostgreSQL engine it adapts, the schema and core/sink; no adapter, no internals', () => {
  const probe = `${STORE_PROBE}\nimport { postgresStore } from '@authtrail/store-postgres';\nexport const more = [postgresStore];`;
  const messages = reports('packages/store-embedded/src/probe.ts', probe);
  expect(flagged(messages)).toEqual([
    '3 @authtrail/core',
    '5 @authtrail/express',
    '6 @authtrail/core/options',
    '8 @authtrail/store/src/schema.js',
  ]);
  expect(messages[0]).toContain('A store engine builds on @authtrail/store');
});

test("the console imports core's entries, the schema and the store's interface; no engine, no adapter, no internals", () => {
  const probe = `${STORE_PROBE}\nimport { postgresStore } from '@authtrail/store-postgres';\nexport const more = [postgresStore];`;
  const messages = reports('packages/console/src/probe.ts', probe);
  expect(flagged(messages)).toEqual([
    '5 @authtrail/express',
    '6 @authtrail/core/options',
    '8 @authtrail/store/src/schema.js',
    '11 @authtrail/store-postgres',
  ]);
  expect(messages[0]).toContain(
    'The console builds on @authtrail/core, @authtrail/schema and @authtrail/store',
  );
});

test("the detectors import the schema and core's sink entry only: not the app API, no store, no adapter", () => {
  const messages = reports('packages/detect/src/probe.ts', STORE_PROBE);
  expect(flagged(messages)).toEqual([
    '3 @authtrail/core',
    '5 @authtrail/express',
    '6 @authtrail/core/options',
    '7 @authtrail/store',
    '8 @authtrail/store/src/schema.js',
  ]);
  expect(messages[0]).toContain(
    'The detectors build on @authtrail/schema and @authtrail/core/sink',
  );
});
