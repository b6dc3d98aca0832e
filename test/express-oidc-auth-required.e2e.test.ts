// A login that starts wherever express-openid-connect sends the browser to the provider: with its
// default `authRequired: true` every page does. A real oidc-provider and a real
// express-openid-connect app audited by @authtrail/express (in a child process, see
// support/provider-server.mjs), driven over HTTP by the scripted browser.
import type { AuditEvent } from '@authtrail/core';
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import { RP_CLIENT } from '@authtrail/testbed/accounts.cjs';
import { startRpProcess, type RpProcess } from './support/rp-process';

let stack: RpProcess;
let rpUrl: string;

beforeAll(async () => {
  stack = await startRpProcess('provider-server.mjs');
  ({ rpUrl } = stack);
}, 20_000);

afterAll(() => stack?.stop());

/** The RP's authn events written so far, and the raw text of the audit file. */
async function written(): Promise<{ events: AuditEvent[]; text: string }> {
  const text = await stack.text();
  const events = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.observer.role === 'rp' && e.type.startsWith('authn.'));
  return { events, text };
}

test('logs one authn.login_start.success at the page that required a session, with the flow id of the callback', async () => {
  const browser = new Browser();
  const { page } = await login(browser, rpUrl, { user: 'alice', start: '/members/reports' });
  expect(page.body).toBe('hello alice');
  const { events, text } = await written();
  expect(events.map((e) => e.type)).toEqual(['authn.login_start.success', 'authn.login.success']);
  const [start, done] = events as [AuditEvent, AuditEvent];
  expect(start).toMatchObject({
    observer: { role: 'rp', service: 'members', adapter: 'express' },
    client: { id: RP_CLIENT.id },
    oauth: { scope: ['openid', 'email'] },
    http: { method: 'GET', path: '/members/reports', status: 302 },
  });
  expect(done).toMatchObject({ user: { id: 'alice' }, http: { path: '/callback' } });
  expect(start.flow?.id).toBeDefined();
  expect(done.flow).toEqual(start.flow);
  for (const secret of browser.secrets) expect(text).not.toContain(secret);
});

test('logs one login start, not two, when the login route itself redirects', async () => {
  const before = (await written()).events.length;
  await login(new Browser(), rpUrl, { user: 'bob' });
  const events = (await written()).events.slice(before);
  expect(events.map((e) => [e.type, e.http?.path])).toEqual([
    ['authn.login_start.success', '/login'],
    ['authn.login.success', '/callback'],
  ]);
  expect(events[1]!.flow).toEqual(events[0]!.flow);
});
