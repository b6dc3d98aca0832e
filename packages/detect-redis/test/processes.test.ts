// Three app processes on one Redis: an attack spread over them gives exactly the detections one
// process seeing all of it gives. The instances import the packages by name (the built exports).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testPrefix } from './helpers.js';

const run = promisify(execFile);
const INSTANCE = `${__dirname}/fixtures/instance.mjs`;

async function instance(prefix: string, accounts: string[]): Promise<[string, string][]> {
  const { stdout } = await run(process.execPath, [INSTANCE, prefix, JSON.stringify(accounts)]);
  return JSON.parse(stdout) as [string, string][];
}

let t: ReturnType<typeof testPrefix>;
beforeEach(() => {
  t = testPrefix();
});
afterEach(async () => {
  await t.drop();
});

test('36 failures of 3 accounts spread over 3 processes give the detections one process gives', async () => {
  // 12 failures per account (brute force fires at 10), interleaved: 4 of each account per process.
  const all = Array.from({ length: 36 }, (_, i) => `user${i % 3}@example.com`);
  const share = (p: number) => all.filter((_, i) => Math.floor(i / 3) % 3 === p);
  const [one, ...three] = await Promise.all([
    instance('-', all),
    instance(t.prefix, share(0)),
    instance(t.prefix, share(1)),
    instance(t.prefix, share(2)),
  ]);
  const sorted = (d: [string, string][]) => d.map((x) => x.join(' ')).sort();
  expect(sorted(one!)).toEqual([
    'authn.bruteforce.detected user0@example.com',
    'authn.bruteforce.detected user1@example.com',
    'authn.bruteforce.detected user2@example.com',
  ]);
  expect(sorted(three.flat())).toEqual(sorted(one!));
  // Each process alone saw 4 failures per account: in memory, none would have fired.
  expect(sorted(await instance('-', share(0)))).toEqual([]);
}, 60_000);
