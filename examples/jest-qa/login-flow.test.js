// A QA check of the whole sign-in flow: the demo's provider, relying party and API all write to the
// test auditor's sink; a scripted browser signs Alice in and calls the API.
const { createTestAuditor, waitForAuditEvent } = require('@authtrail/jest');
const { Browser, login } = require('@authtrail/testbed/browser.cjs');
const { USERS, RP_CLIENT } = require('@authtrail/testbed/accounts.cjs');
const { startStackProcess } = require('./support/stack.js');

const audit = createTestAuditor();
let stack;

beforeAll(async () => {
  stack = await startStackProcess(audit.sink);
  // The stack's auditors deliver asynchronously: the matchers flush them through this.
  audit.track(stack);
});
afterAll(() => stack.close());
beforeEach(() => audit.clear());

test('Alice signs in and calls the API: every step is audited, in order, and no secret is', async () => {
  const alice = new Browser();
  await login(alice, stack.rpUrl, { user: 'alice' });
  const page = await alice.go(`${stack.rpUrl}/call-api`);
  expect(page.body).toContain('Status 200');

  const start = await waitForAuditEvent(audit, 'authn.login_start.success');
  await expect(audit).toHaveAuditSequence([
    { type: 'authn.login_start.success', observer: { role: 'rp' }, client: { id: RP_CLIENT.id } },
    { type: 'authn.login.success', observer: { role: 'op' }, user: { id: 'alice' } },
    { type: 'oauth.consent_grant.success', observer: { role: 'op' } },
    { type: 'oauth.token_issue.success', observer: { role: 'op' }, client: { id: RP_CLIENT.id } },
    // The callback carries the flow id of the login it completes.
    {
      type: 'authn.login.success',
      observer: { role: 'rp' },
      user: { id: 'alice' },
      flow: { id: start.flow.id },
    },
    {
      type: 'api.access.success',
      observer: { role: 'rs' },
      user: { id: 'alice' },
      oauth: { token: { verified: true } },
    },
  ]);
  // Cookies, codes, states and the password the browser handled: none reached the log.
  await expect(audit).toHaveNoSecrets([...alice.secrets, USERS.alice.password]);
});

test('a wrong password is audited by the provider, without the password; the account is named once it signed in', async () => {
  await login(new Browser(), stack.rpUrl, { user: 'bob', wrongPassword: 'not-his-password' });
  await expect(audit).toHaveAuditSequence([
    'authn.login_start.success',
    // Bob never signed in to this provider before: what was typed is only a keyed hash.
    {
      type: 'authn.login.failure',
      observer: { role: 'op' },
      reason: 'invalid_credentials',
      user: { hash: expect.stringMatching(/^[\w-]{16,}$/) },
    },
    { type: 'authn.login.success', observer: { role: 'rp' }, user: { id: 'bob' } },
  ]);
  const first = await waitForAuditEvent(audit, 'authn.login.failure');
  expect(first.user.id).toBeUndefined();

  // He has signed in since: the same name typed with a wrong password now names his account.
  audit.clear();
  await login(new Browser(), stack.rpUrl, { user: 'bob', wrongPassword: 'still-not-his' });
  const again = await waitForAuditEvent(audit, 'authn.login.failure');
  expect(again).toMatchObject({ reason: 'invalid_credentials', user: { id: 'bob' } });
  await expect(audit).toHaveNoSecrets(['not-his-password', 'still-not-his', USERS.bob.password]);
});
