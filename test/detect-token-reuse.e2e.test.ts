// Refresh-token reuse end to end: two instances of a real oidc-provider (rotating refresh tokens,
// each with its own token store) audited with a detectors() sink each, in a child process. A client
// signs in at A, refreshes (A rotates the token), and the old refresh token is replayed: at A, the
// provider still holds it consumed and says so (`token_reused`); at B, which never saw it, it is a
// plain invalid_grant. With per-process state only A's replay is detected; with a redisState the
// instances share (real Redis, a key prefix of this test, its keys deleted after), B's is too. No
// token, code or verifier may be in the audit bytes, the Redis keys or their values.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditEvent } from '@authtrail/core';
import { Browser, parseForms } from '@authtrail/testbed/browser.cjs';
import { CLI_CLIENT, USERS } from '@authtrail/testbed/accounts.cjs';
import { Redis } from 'ioredis';
import { startRpProcess, type RpProcess } from './support/rp-process';

const REDIRECT = `http://127.0.0.1:9${CLI_CLIENT.callbackPath}`;
const BASIC = `Basic ${Buffer.from(`${CLI_CLIENT.id}:${CLI_CLIENT.secret}`).toString('base64')}`;

interface Instances {
  op: RpProcess;
  a: string;
  b: string;
  /** Codes, verifiers, states and tokens the client saw: none may reach the trail or Redis. */
  secrets: Set<string>;
}

async function start(env: Record<string, string> = {}): Promise<Instances> {
  const op = await startRpProcess('reuse-server.mjs', env);
  const { a, b } = await op.answer<{ a: string; b: string }>('/issuers');
  return { op, a, b, secrets: new Set() };
}

/** A POST to an instance's token endpoint as the CLI client (Basic authentication). */
async function token(
  issuer: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: BASIC },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Signs alice in at `issuer` with a browser (PKCE, offline_access) and answers its refresh token. */
async function signIn(t: Instances, issuer: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: CLI_CLIENT.id,
    response_type: 'code',
    scope: 'openid offline_access',
    prompt: 'consent',
    redirect_uri: REDIRECT,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const browser = new Browser();
  let page = await browser.go(url.href);
  page = await browser.submit(page, /\/login$/, {
    username: 'alice',
    password: USERS.alice.password,
  });
  const consent = parseForms(page.body, page.url).find((f) => /\/confirm$/.test(f.action))!;
  let response = await browser.request(consent.action, { method: 'POST', form: consent.fields });
  while (response.location && !response.location.startsWith(REDIRECT))
    response = await browser.request(response.location);
  const code = new URL(response.location!).searchParams.get('code')!;
  const issued = await token(issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
  expect(issued.status).toBe(200);
  for (const s of [verifier, state, code, ...Object.values(issued.body)]) t.secrets.add(s);
  return issued.body.refresh_token!;
}

/** Refreshes with `refreshToken` at `issuer`: the new tokens, or the OAuth error. */
async function refresh(t: Instances, issuer: string, refreshToken: string) {
  const res = await token(issuer, { grant_type: 'refresh_token', refresh_token: refreshToken });
  for (const s of Object.values(res.body)) t.secrets.add(s);
  return res;
}

const reuses = (events: AuditEvent[]) =>
  events.filter((e) => e.type === 'oauth.token_reuse.detected');

/** Detections are recorded off the response path: polled for, until `count` are there. */
async function detected(read: () => Promise<AuditEvent[]>, count: number): Promise<AuditEvent[]> {
  const until = Date.now() + 5000;
  let events = await read();
  while (reuses(events).length < count && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    events = await read();
  }
  return events;
}

function expectNoSecret(text: string, secrets: Set<string>): void {
  // A refresh token, an access token (a JWT here: three parts), the code and the verifier at least.
  expect([...secrets].filter((s) => s.length >= 20).length).toBeGreaterThanOrEqual(6);
  for (const s of secrets) if (s.length >= 20) expect(text).not.toContain(s);
}

describe('one instance, its own memory (detectors() as it comes)', () => {
  let t: Instances;
  beforeAll(async () => {
    t = await start();
  });
  afterAll(async () => {
    await t?.op.stop();
  });

  test('a rotated refresh token replayed gives exactly one oauth.token_reuse.detected, its evidence the rotation and the replay; a second replay another', async () => {
    const old = await signIn(t, t.a);
    const rotated = await refresh(t, t.a, old);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(old);
    const replay = await refresh(t, t.a, old);
    expect(replay.body.error).toBe('invalid_grant');

    let events = await detected(() => t.op.events('op'), 1);
    const rotation = events.find((e) => e.type === 'oauth.token_refresh.success')!;
    const failure = events.find((e) => e.type === 'oauth.token_refresh.failure')!;
    // The provider's own word, in core's event: it still held the token, consumed.
    expect(failure).toMatchObject({ reason: 'token_reused', error: { code: 'invalid_grant' } });
    expect(rotation.oauth?.presented?.fingerprint).toBe(failure.oauth?.token?.fingerprint);
    const [d, ...more] = reuses(events);
    expect(more).toEqual([]);
    expect(d).toMatchObject({
      outcome: 'detected',
      observer: { role: 'op' },
      client: { id: CLI_CLIENT.id },
      oauth: { token: { type: 'refresh_token', fingerprint: failure.oauth!.token!.fingerprint } },
      detection: {
        detector: 'refresh_token_reuse',
        severity: 'high',
        count: 2,
        first: rotation.id,
        last: failure.id,
      },
    });

    // The provider revoked the grant and forgot the token: the next replay is a plain
    // invalid_grant, and a use of a superseded token all the same.
    expect((await refresh(t, t.a, old)).body.error).toBe('invalid_grant');
    events = await detected(() => t.op.events('op'), 2);
    expect(reuses(events).map((e) => [e.detection?.count, e.detection?.first])).toEqual([
      [2, rotation.id],
      [3, rotation.id],
    ]);
    expectNoSecret(await t.op.text(), t.secrets);
  });

  test('without a shared state, a replay at the other instance is only a failed refresh (the gap a shared state closes)', async () => {
    const old = await signIn(t, t.a);
    expect((await refresh(t, t.a, old)).status).toBe(200);
    expect((await refresh(t, t.b, old)).body.error).toBe('invalid_grant');
    const b = await t.op.answer<AuditEvent[]>('/b');
    expect(b.map((e) => [e.type, e.reason])).toEqual([
      ['oauth.token_refresh.failure', 'invalid_grant'],
    ]);
  });
});

describe('two instances sharing a redisState', () => {
  const prefix = `authtrail-test:reuse:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis('redis://127.0.0.1:6379');
  let t: Instances;
  const stored = async () => {
    const keys = await redis.keys(`${prefix}*`);
    const values = await Promise.all(keys.map((k) => redis.getBuffer(k)));
    return { keys, values: values.map((v) => v?.toString('latin1') ?? '') };
  };
  beforeAll(async () => {
    t = await start({ STATE: 'redis', REDIS_PREFIX: prefix });
  });
  afterAll(async () => {
    await t?.op.stop();
    const { keys } = await stored();
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('a token rotated at A and replayed at B, which never saw it, is detected at B; Redis holds no token', async () => {
    const old = await signIn(t, t.a);
    expect((await refresh(t, t.a, old)).status).toBe(200);
    const a = await t.op.events('op');
    const rotation = a.find((e) => e.type === 'oauth.token_refresh.success')!;
    // A's rotation is in Redis before the replay: one key, a keyed hash of the fingerprint.
    const before = await stored();
    expect(before.keys).toEqual([
      expect.stringMatching(/^authtrail-test:reuse:[0-9a-f]+:refresh_token_reuse#0:[\w-]{16,}$/),
    ]);

    expect((await refresh(t, t.b, old)).body.error).toBe('invalid_grant');
    const b = await detected(() => t.op.answer<AuditEvent[]>('/b'), 1);
    const failure = b.find((e) => e.type === 'oauth.token_refresh.failure')!;
    expect(failure.reason).toBe('invalid_grant'); // B's provider knows nothing of the token
    expect(reuses(b)).toEqual([
      expect.objectContaining({
        detection: expect.objectContaining({
          detector: 'refresh_token_reuse',
          count: 2,
          first: rotation.id, // A's event: the evidence spans the instances
          last: failure.id,
        }),
      }),
    ]);
    expect(reuses(a)).toEqual([]);

    const after = await stored();
    const raw = [await t.op.text(), JSON.stringify(b), ...after.keys, ...after.values].join('\n');
    expectNoSecret(raw, t.secrets);
    // Nor the fingerprint as the events carry it: the state keeps a keyed hash of it.
    expect(after.keys.join('\n')).not.toContain(rotation.oauth!.presented!.fingerprint);
  });
});
