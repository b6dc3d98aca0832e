// Without `authtrail.errors()` the adapter never sees the error express-openid-connect raised; the
// event must still name the failure from what the request and response show.
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import { startStackProcess, type StackProcess } from './support/stack-process';

let stack: StackProcess;
beforeAll(async () => {
  stack = await startStackProcess({ STACK_COMPANION: '0' });
});
afterAll(async () => {
  await stack?.stop();
});

test('still logs reason idp_error with error.code access_denied when consent is denied', async () => {
  const mark = await stack.mark();
  await login(new Browser(), stack.rpUrl, { user: 'bob', deny: true });
  const events = await stack.eventsSince(mark, 'rp', 'rs');
  expect(events.map((e) => [e.type, e.reason, e.error?.code])).toEqual([
    ['authn.login_start.success', undefined, undefined],
    ['authn.login.failure', 'idp_error', 'access_denied'],
  ]);
});

test('still logs reason state_mismatch for a tampered state', async () => {
  const mark = await stack.mark();
  await login(new Browser(), stack.rpUrl, {
    user: 'alice',
    tamper: (url) => url.replace(/state=[^&]+/, 'state=forged'),
  });
  const events = await stack.eventsSince(mark, 'rp', 'rs');
  expect(events.map((e) => [e.type, e.reason])).toEqual([
    ['authn.login_start.success', undefined],
    ['authn.login.failure', 'state_mismatch'],
  ]);
});

test('still logs reason missing_transaction for a callback replayed by another browser', async () => {
  const { callbackUrl } = await login(new Browser(), stack.rpUrl, { user: 'alice' });
  const mark = await stack.mark();
  const replay = await new Browser().request(callbackUrl);
  expect(replay.status).toBe(400);
  const events = await stack.eventsSince(mark, 'rp', 'rs');
  expect(events.map((e) => [e.type, e.reason, e.http?.status])).toEqual([
    ['authn.login.failure', 'missing_transaction', 400],
  ]);
});
