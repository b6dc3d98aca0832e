// The README's short jest example, run as a user would run it: in a plain CommonJS jest project and
// in an ESM one (node --experimental-vm-modules), each a child jest process in a temporary copy of
// test/fixtures/jest-{cjs,esm} that resolves @authtrail/jest, express, supertest and jest from this
// repository's node_modules. A deliberately broken copy must fail, so this test can fail.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const MARKER = '<!-- example: jest-kit -->';

/** The fenced block after the marker in the README: the example users copy. */
function readmeExample(): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(Math.max(0, text.indexOf(MARKER))));
  if (!text.includes(MARKER) || !block)
    throw new Error(`no \`\`\`js block after ${MARKER} in README.md`);
  return block[1]!;
}

/** The same example with require() instead of import, for the CommonJS project. */
function toCommonJs(code: string): string {
  const out = code
    .replace(/^import (\w+) from '([^']+)';$/gm, "const $1 = require('$2');")
    .replace(/^import \{([^}]+)\} from '([^']+)';$/gm, "const {$1} = require('$2');");
  if (/^import /m.test(out))
    throw new Error(`an import the test cannot turn into require():\n${out}`);
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

const example = readmeExample();
// Break one expectation: the failing copy must fail, and say what it saw instead.
const broken = example.replace("{ reason: 'token_expired' }", "{ reason: 'token_revoked' }");

test('the example in the README is the one with the marker, and the broken copy differs', () => {
  expect(example).toContain("from '@authtrail/jest'");
  expect(broken).not.toBe(example);
});

test.each([
  ['a plain CommonJS jest project', 'cjs', toCommonJs(example)],
  ['an ESM jest project (node --experimental-vm-modules)', 'esm', example],
] as const)('the README example passes in %s', async (_name, kind, code) => {
  const run = await runJest(kind, code);
  expect({ exitCode: run.exitCode, output: run.output }).toMatchObject({ exitCode: 0 });
  expect(run.output).toMatch(/Tests:\s+2 passed, 2 total/);
});

test.each([
  ['cjs', toCommonJs(broken)],
  ['esm', broken],
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
