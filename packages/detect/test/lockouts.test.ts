// Enforcement's lock table in a real auditor, asked through the adapters' guard (AdapterHandle.guard)
// as an adapter asks it: its bound, and its end on close. The HTTP side is test/enforce.test.ts.
import { createAuditor, memorySink } from '@authtrail/core';
import { detectors } from '../src/index.js';
import { signIns } from './support.js';

const KEY = 'lockouts-test-fingerprint-key-93c1d7e2a0';
const { failure } = signIns(KEY);

function setup(enforce: { lockout_s: number; maxLocks?: number }) {
  const memory = memorySink();
  const sink = detectors({ enforce });
  const auditor = createAuditor({
    sinks: [memory, sink],
    keys: { fingerprint: KEY },
    signIn: { routes: 'POST /login' },
    delivery: { handleSignals: false },
  });
  const handle = auditor.attach('test');
  return {
    auditor,
    sink,
    memory,
    /** Ten failed sign-ins of `account` from `ip`, as an app's login form records them. */
    async lock(account: string, ip: string) {
      for (let i = 0; i < 10; i++) auditor.record(failure(account, ip));
      await auditor.flush();
      await auditor.flush(); // the decision's own lock event
    },
    /** The guard's verdict on a post of the form, as an adapter asks it (a parsed body). */
    verdict: (account: string, ip: string) =>
      handle.guard!({}, { method: 'POST', url: '/login', ip, body: { username: account } }),
  };
}

test('holds at most maxLocks locks: a new lock lifts the one ending soonest, and records its end', async () => {
  const t = setup({ lockout_s: 600, maxLocks: 1 });
  await t.lock('alice', '203.0.113.1');
  expect(t.verdict('alice', '203.0.113.1')).toBeGreaterThan(590);
  await t.lock('bob', '203.0.113.2');
  expect(t.verdict('bob', '203.0.113.2')).toBeGreaterThan(590);
  expect(t.verdict('alice', '203.0.113.1')).toBe(0);
  await t.auditor.flush();
  const types = t.memory.events.map((e) => e.type).filter((type) => type.includes('lockout'));
  expect(types).toEqual([
    'authn.lockout.success',
    'authn.lockout_end.success',
    'authn.lockout.success',
  ]);
  expect(t.sink.stats().enforce).toEqual({ locks: 1, locked: 2, heard: 0, evicted: 1 });
  await t.auditor.close();
});

test('a post that is not the form, or names no account, is never refused: 0 at once', async () => {
  const t = setup({ lockout_s: 600 });
  await t.lock('alice', '203.0.113.1');
  const handle = t.auditor.attach('test');
  const ip = '203.0.113.1';
  expect(handle.guard!({}, { method: 'GET', url: '/login', ip, body: undefined })).toBe(0);
  expect(handle.guard!({}, { method: 'POST', url: '/other', ip, body: {} })).toBe(0);
  expect(handle.guard!({}, { method: 'POST', url: '/login', ip, body: { password: 'x' } })).toBe(0);
  expect(handle.guard!({}, { method: 'POST', url: '/login', ip: undefined, body: {} })).toBe(0);
  await t.auditor.close();
});

test('close ends nothing it cannot record and leaves no timer behind: it resolves at once with a lock running', async () => {
  const t = setup({ lockout_s: 86_400 });
  await t.lock('alice', '203.0.113.1');
  const started = Date.now();
  await t.auditor.close();
  expect(Date.now() - started).toBeLessThan(1000);
  expect(t.sink.stats().enforce).toMatchObject({ locks: 0 });
  expect(t.memory.events.filter((e) => e.type === 'authn.lockout_end.success')).toEqual([]);
});
