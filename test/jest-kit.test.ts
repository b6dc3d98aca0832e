// The short jest example of docs/testing.md, run as a user would run it: as written in a plain
// CommonJS jest project, and with its require() lines as imports in an ESM one (node
// --experimental-vm-modules), each a child jest process in a temporary copy of
// test/fixtures/jest-{cjs,esm} that resolves @authtrail/jest, express, supertest and jest from this
// repository's node_modules. A deliberately broken copy must fail, so this test can fail.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readmeExample } from './support/readme';

/** The same example with import instead of require(), for the ESM project. */
function toEsm(code: string): string {
  const out = code
    .replace(/^const (\w+) = require\('([^']+)'\);$/gm, "import $1 from '$2';")
    .replace(/^const \{([^}]+)\} = require\('([^']+)'\);$/gm, "import {$1} from '$2';");
  if (/require\(/.test(out))
    throw new Error(`a require() the test cannot turn into an import:\n${out}`);
  return out;
}

interface Run {
  exitCode: number;
  output: string;
}

/** Copies a fixture project, writes `code` as its test and runs jest there. */
function runJest(kind: 'cjs' | 'esm', code: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `authtrail-jest-${kind}-`));
  cpSync(join(__dirname, 'fixtures', `jest-${kind}`), dir, { recursive: true });
  const modules = join(dir, 'node_modules');
  symlinkSync(join(ROOT, 'node_modules'), modules, 'dir');
  writeFileSync(join(dir, 'api.test.js'), code);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.JEST_WORKER_ID;
  const args = [
    ...(kind === 'esm' ? ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'] : []),
    require.resolve('jest/bin/jest'),
    '--ci',
    '--no-watchman',
    '--no-cache',
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: dir, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        unlinkSync(modules); // the link only, never what it points to
        rmSync(dir, { recursive: true, force: true });
        const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ exitCode, output: stdout + stderr });
      },
    );
  });
}

const { code: example, at } = readmeExample('jest-kit');
// Break one expectation: the failing copy must fail, and say what it saw instead.
const broken = example.replace("{ reason: 'token_expired' }", "{ reason: 'token_revoked' }");

test('the example in docs/testing.md is the one with the marker, and the broken copy differs', () => {
  expect(at).toMatch(/^docs\/testing\.md:\d+$/);
  expect(example).toContain("require('@authtrail/jest')");
  expect(broken).not.toBe(example);
});

test.each([
  ['a plain CommonJS jest project, as written', 'cjs', example],
  ['an ESM jest project (node --experimental-vm-modules), with imports', 'esm', toEsm(example)],
] as const)('the docs/testing.md example passes in %s', async (_name, kind, code) => {
  const run = await runJest(kind, code);
  expect({ exitCode: run.exitCode, output: run.output }).toMatchObject({ exitCode: 0 });
  expect(run.output).toMatch(/Tests:\s+2 passed, 2 total/);
});

test.each([
  ['cjs', broken],
  ['esm', toEsm(broken)],
] as const)(
  'a broken copy fails in the %s project, showing the nearest event',
  async (kind, code) => {
    const run = await runJest(kind, code);
    expect(run.exitCode).toBe(1);
    expect(run.output).toMatch(/Tests:\s+1 failed, 1 passed, 2 total/);
    expect(run.output).toContain('Nearest: #0 api.authn.failure');
    expect(run.output).toMatch(/\+\s+"reason": "token_expired"/);
  },
);
