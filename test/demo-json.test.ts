// `npm run demo --json -- --once | jq`, as the README says: standard output is JSON lines only (npm's
// banner, turbo's build output, the demo's titles and the provider's warnings go to stderr).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..');
// The demo's embedded store goes here, not into the repository's .authtrail/.
const storeParent = mkdtempSync(join(tmpdir(), 'authtrail-demo-'));
afterAll(() => rmSync(storeParent, { recursive: true, force: true }));

test('npm run demo --json -- --once writes only audit events, one JSON object a line, on stdout', async () => {
  const { stdout, stderr } = await promisify(execFile)(
    'npm',
    ['run', 'demo', '--json', '--', '--once'],
    {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        PORT: '0',
        NO_COLOR: '1',
        AUTHTRAIL_STORE: join(storeParent, '.authtrail'),
      },
      shell: process.platform === 'win32',
    },
  );
  const lines = stdout.split('\n');
  expect(lines.pop()).toBe(''); // ends with a newline
  const events = lines.map((line) => JSON.parse(line) as { type: string; outcome: string });
  expect(events.map((e) => e.type)).toEqual(
    expect.arrayContaining([
      'authn.login.failure',
      'authn.login.success',
      'api.access.success',
      'api.authn.failure',
      'authn.logout.success',
    ]),
  );
  // What used to precede the JSON is still shown, on stderr.
  expect(stderr).toContain('> demo');
  expect(stderr).toContain('1. Alice mistypes her password');
  // ...and the events went to the embedded store too: the query the demo suggests answers with
  // exactly the failures it printed.
  const directory = join(storeParent, '.authtrail');
  expect(stderr).toContain(`try npx authtrail query 'outcome:failure' --store ${directory}`);
  const queried = await promisify(execFile)(
    process.execPath,
    [
      join(root, 'packages/cli/dist/cli.js'),
      'query',
      'outcome:failure',
      '--store',
      directory,
      '--limit',
      '1000',
      '--format',
      'ndjson',
    ],
    { encoding: 'utf8' },
  );
  const stored = queried.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  const failures = events.filter((e) => e.outcome === 'failure') as unknown as { id: string }[];
  expect(failures.length).toBeGreaterThan(5);
  expect(stored.sort()).toEqual(failures.map((e) => e.id).sort());
}, 120000);
