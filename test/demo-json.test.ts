// `npm run demo --json -- --once | jq`, as the README says: standard output is JSON lines only (npm's
// banner, turbo's build output, the demo's titles and the provider's warnings go to stderr).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..');

test('npm run demo --json -- --once writes only audit events, one JSON object a line, on stdout', async () => {
  const { stdout, stderr } = await promisify(execFile)(
    'npm',
    ['run', 'demo', '--json', '--', '--once'],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PORT: '0', NO_COLOR: '1' },
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
}, 120000);
