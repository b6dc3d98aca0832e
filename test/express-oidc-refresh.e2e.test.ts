// The relying party's own token refreshes: express-openid-connect's `req.oidc.accessToken.refresh()`
// in a route of a real Express app, against a real oidc-provider that rotates refresh tokens, both
// audited (in a child process, see support/refresh-server.mjs), driven over HTTP on 127.0.0.1 by the
// scripted browser. The refresh token is then revoked at the provider's revocation endpoint.
import { createHmac } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import { Browser, login } from '@authtrail/testbed/browser.cjs';
import { AUDIT_FINGERPRINT_KEY, RP_CLIENT } from '@authtrail/testbed/accounts.cjs';
import { startRpProcess, type RpProcess } from './support/rp-process';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token: string;
}

let stack: RpProcess;
let rpUrl: string;
let issuer: string;

beforeAll(async () => {
  stack = await startRpProcess('refresh-server.mjs');
  ({ rpUrl, issuer } = stack);
}, 20_000);

afterAll(() => stack?.stop());

const auditText = () => stack.text();
const events = () => stack.events();
const tokens = () => stack.answer<Tokens[]>('/tokens');
/** authtrail's fingerprint of a token under the stack's key, computed here independently. */
const fingerprint = (token: string) =>
  createHmac('sha256', AUDIT_FINGERPRINT_KEY)
    .update(token)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
const revoke = (token: string) =>
  fetch(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${RP_CLIENT.id}:${RP_CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
  });

describe("the relying party's own refreshes (express-openid-connect accessToken.refresh())", () => {
  const browser = new Browser();
  let login_: AuditEvent;

  beforeAll(async () => {
    await login(browser, rpUrl, { user: 'alice' });
    login_ = (await events()).find((e) => e.type === 'authn.login.success')!;
    expect(login_).toBeDefined();
  });

  test('logs oauth.token_refresh.success by the rp with the user, client, session, the new access token and the refresh token spent, fingerprinted', async () => {
    const [session] = await tokens();
    expect(session?.refresh_token).toBeDefined(); // offline_access: the provider issued one
    const mark = (await events()).length;

    const page = await browser.request(`${rpUrl}/refresh`, {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(page.status).toBe(200);

    const after = (await events()).slice(mark);
    const rp = after.filter((e) => e.observer.role === 'rp');
    expect(rp.map((e) => e.type)).toEqual(['oauth.token_refresh.success']);
    const refreshed = (await tokens()).at(-1)!;
    expect(refreshed.access_token).not.toBe(session!.access_token);
    expect(refreshed.refresh_token).not.toBe(session!.refresh_token); // rotated
    const e = rp[0]!;
    expect(e).toMatchObject({
      schema: 1,
      outcome: 'success',
      observer: { role: 'rp', service: 'members', adapter: 'express' },
      user: { id: 'alice', roles: ['admin'] },
      client: { id: RP_CLIENT.id },
      oauth: {
        issuer,
        grant_type: 'refresh_token',
        token: {
          type: 'access_token',
          fingerprint: fingerprint(refreshed.access_token),
          verified: false,
        },
        presented: {
          type: 'refresh_token',
          fingerprint: fingerprint(session!.refresh_token!),
          verified: false,
        },
      },
      source: { ip: '127.0.0.1', user_agent: 'authtrail-demo-browser/1.0' },
      trace: { id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' },
    });
    expect(e.reason).toBeUndefined();
    expect(e.http).toBeUndefined(); // the refresh is a call the route made, not the request's outcome
    // The access token lives 600 s at the demo provider.
    const lifetime = Date.parse(e.oauth!.token!.expires_at!) - Date.parse(e.time);
    expect(lifetime).toBeGreaterThan(590_000);
    expect(lifetime).toBeLessThanOrEqual(601_000);
    // The login's flow (and provider session: the demo's ID tokens carry no sid): the refresh
    // belongs to that sign-in.
    expect(e.flow?.id).toBeDefined();
    expect(e.flow).toEqual(login_.flow);
    expect(e.session).toEqual(login_.session);
    // The provider logged the same grant: the same access token, the same fingerprint.
    const op = after.filter((x) => x.observer.role === 'op');
    expect(op.map((x) => x.type)).toEqual(['oauth.token_refresh.success']);
    expect(op[0]!.oauth?.token?.fingerprint).toBe(e.oauth!.token!.fingerprint);
  });

  test('logs oauth.token_refresh.failure with reason invalid_grant once the refresh token was revoked, and the app gets the same error as without authtrail', async () => {
    const current = (await tokens()).at(-1)!;
    const revoked = await revoke(current.refresh_token!);
    expect(revoked.status).toBe(200);
    const mark = (await events()).length;

    const page = await browser.request(`${rpUrl}/refresh`);
    expect(page.status).toBe(400);
    const seen = JSON.parse(page.body) as Record<string, unknown>;
    expect(seen).toMatchObject({ name: 'ResponseBodyError', error: 'invalid_grant', status: 400 });

    const rp = (await events()).slice(mark).filter((e) => e.observer.role === 'rp');
    expect(rp.map((e) => e.type)).toEqual(['oauth.token_refresh.failure']);
    expect(rp[0]).toMatchObject({
      outcome: 'failure',
      observer: { role: 'rp', adapter: 'express' },
      reason: 'invalid_grant',
      error: { code: 'invalid_grant' },
      user: { id: 'alice' },
      client: { id: RP_CLIENT.id },
      oauth: {
        grant_type: 'refresh_token',
        token: {
          type: 'refresh_token',
          fingerprint: fingerprint(current.refresh_token!),
          verified: false,
        },
      },
    });
    expect(rp[0]!.oauth?.presented).toBeUndefined();
    // The provider's failure names the same refresh token.
    const op = (await events())
      .slice(mark)
      .filter((e) => e.type === 'oauth.token_refresh.failure' && e.observer.role === 'op');
    expect(op[0]?.oauth?.token?.fingerprint).toBe(rp[0]!.oauth!.token!.fingerprint);

    // The same refresh where authtrail is not looking: what the app's error handling gets is the
    // same error, field for field, and no event is written. Its async stack is the same but for
    // the one frame where authtrail awaited the refresh (the app's own frames are all there).
    const plainMark = (await events()).length;
    const plain = await browser.request(`${rpUrl}/refresh?plain=1`);
    expect(plain.status).toBe(400);
    const { frames, ...rest } = seen as { frames: string[] };
    const { frames: plainFrames, ...plainRest } = JSON.parse(plain.body) as { frames: string[] };
    expect(rest).toEqual(plainRest);
    expect(frames.filter((f) => f !== 'at async settle')).toEqual(plainFrames);
    expect(frames.length).toBe(plainFrames.length + 1);
    expect(frames.at(-1)).toMatch(/refresh-server\.mjs/);
    const later = (await events()).slice(plainMark).filter((e) => e.observer.role === 'rp');
    expect(later).toEqual([]);
  });

  test('writes no raw access, refresh or ID token, nor any other secret of the session, anywhere in the log', async () => {
    const text = await auditText();
    expect(text).toContain('oauth.token_refresh.success');
    expect(text).toContain('oauth.token_refresh.failure');
    const secrets = new Set<string>(browser.secrets);
    for (const t of await tokens())
      for (const value of [t.access_token, t.refresh_token, t.id_token])
        if (value) secrets.add(value);
    expect(secrets.size).toBeGreaterThan(5);
    for (const secret of secrets) {
      if (secret.length < 8) continue;
      expect(text).not.toContain(secret);
      // Nor a recognisable part of one (a JWT's signature, the body of an opaque token).
      expect(text).not.toContain(secret.slice(-24));
    }
  });
});
