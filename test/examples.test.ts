// Every runnable example starts, does its scripted walk (--once) and prints real audit events.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import { AUDIT_FINGERPRINT_KEY, USERS } from '@authtrail/testbed/accounts.cjs';

const run = promisify(execFile);

async function events(script: string, ...args: string[]): Promise<AuditEvent[]> {
  // The demo's embedded store goes to a directory of its own, not into the repository's .authtrail/.
  const store = mkdtempSync(join(tmpdir(), 'authtrail-example-'));
  const { stdout } = await run(
    process.execPath,
    [join(__dirname, '..', script), '--once', ...args],
    {
      env: { ...process.env, PORT: '0', NO_COLOR: '1', AUTHTRAIL_STORE: join(store, '.authtrail') },
      timeout: 60_000,
    },
  ).finally(() => rmSync(store, { recursive: true, force: true }));
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as AuditEvent);
}

test('the demo walks through logins, API calls and a logout with events from the provider, the RP and the API', async () => {
  const all = await events('examples/demo/demo.mjs', '--json');
  const types = new Set(all.map((e) => `${e.observer.role} ${e.type} ${e.reason ?? ''}`.trim()));
  for (const expected of [
    'op authn.login.failure invalid_credentials',
    'op authn.login.success',
    'op oauth.consent_grant.success',
    'op oauth.token_issue.success',
    'rp authn.login_start.success',
    'rp authn.login.success',
    'rs api.access.success',
    'rs api.authn.failure token_expired',
    'rs api.authn.failure token_malformed',
    'rs api.authn.failure token_missing',
    'rs api.authz.failure insufficient_scope',
    'op oauth.consent_grant.failure user_denied',
    'rp authn.login.failure idp_error',
    'rp authn.login.failure state_mismatch',
    'rp authn.logout.success',
    'op authn.logout.success',
  ]) {
    expect([...types]).toContain(expected);
  }

  // The provider's form (`signIn` option): Alice's first wrong password comes before she ever signed
  // in, so the name typed is only its keyed hash; the one after her sign-ins names her account.
  const failures = all.filter((e) => e.type === 'authn.login.failure' && e.observer.role === 'op');
  const typed = createHmac('sha256', AUDIT_FINGERPRINT_KEY)
    .update('alice')
    .digest()
    .subarray(0, 16)
    .toString('base64url');
  expect(failures.map((e) => [e.reason, e.user, e.http?.route])).toEqual([
    ['invalid_credentials', { hash: typed }, '/interaction/:uid/login'],
    ['invalid_credentials', { id: 'alice' }, '/interaction/:uid/login'],
  ]);
  const text = JSON.stringify(all);
  for (const password of ['not-her-password', 'still-not-her-password', USERS.alice.password])
    expect(text).not.toContain(password);
});

test('examples/koa-op issues a token and logs the issue and a rejected client', async () => {
  const all = await events('examples/koa-op/server.mjs');
  expect(all.map((e) => [e.type, e.error?.code ?? null, e.observer.adapter])).toEqual([
    ['oauth.token_issue.success', null, 'koa'],
    ['oauth.token_issue.failure', 'invalid_client', 'koa'],
    ['oauth.token_introspect.failure', 'unsupported_token_type', 'koa'],
  ]);
});

test('examples/fastify-gateway logs an accepted, a forged and a missing token', async () => {
  const all = await events('examples/fastify-gateway/server.mjs');
  expect(
    all.map((e) => [e.type, e.reason ?? null, e.oauth?.token?.verified ?? null]).sort(),
  ).toEqual([
    ['api.access.success', null, true],
    ['api.authn.failure', 'signature_invalid', false],
    ['api.authn.failure', 'token_missing', null],
  ]);
});

test('examples/express-rp logs a login, a logout, a denied login and a replayed callback', async () => {
  const all = await events('examples/express-rp/server.mjs');
  expect(all.map((e) => [e.type, e.reason ?? null, e.user?.id ?? null])).toEqual([
    ['authn.login_start.success', null, null],
    ['authn.login.success', null, 'alice'],
    ['authn.logout.success', null, 'alice'],
    ['authn.login_start.success', null, null],
    ['authn.login.failure', 'idp_error', null],
    ['authn.login_start.success', null, null],
    ['authn.login.success', null, 'bob'],
    ['authn.login.failure', 'missing_transaction', null],
  ]);
  expect(all.find((e) => e.reason === 'idp_error')?.error?.code).toBe('access_denied');
});

test('examples/jest-qa: its QA suite (npm start) passes against the demo stack', async () => {
  const { stdout, stderr } = await run('npm', ['start', '--silent'], {
    cwd: join(__dirname, '..', 'examples/jest-qa'),
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', JEST_WORKER_ID: undefined },
    timeout: 120_000,
  });
  expect(stdout + stderr).toMatch(/Tests:\s+6 passed, 6 total/);
}, 130_000);
