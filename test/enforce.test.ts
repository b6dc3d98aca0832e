// Enforcement (`detectors({ enforce })`) through each adapter over real HTTP: an Express app whose
// sign-in route parses its form with express.urlencoded, a Koa app whose route reads its own body
// (as koa-bodyparser does: only when nobody set `ctx.request.body`), a Fastify app with a JSON form.
// Ten wrong passwords for alice from one IP lock alice for that IP: the next attempts, the right
// password too, get 429 with Retry-After and never reach the route; alice from another IP and bob
// from the same IP go through, their form handed on to the route intact. The lock and its end are
// events; no password is in any event. Without `enforce`, the same attack is never refused.
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import {
  createAuditor,
  memorySink,
  type AuditEvent,
  type Auditor,
  type MemorySink,
} from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';
import { detectors, type DetectorsOptions, type DetectorsSink } from '@authtrail/detect';

const KEY = 'enforce-test-fingerprint-key-0c4f9a2e71d3';
const hash = (value: string) =>
  createHmac('sha256', KEY).update(value).digest().subarray(0, 16).toString('base64url');
const RIGHT = { alice: 'alice-right-canary-51f0', bob: 'bob-right-canary-93ad' };
const WRONG = Array.from({ length: 12 }, (_, i) => `wrong-canary-${i}-e7b2`);
const LOCKOUT_S = 2;

interface App {
  url: string;
  auditor: Auditor;
  memory: MemorySink;
  sink: DetectorsSink;
  /** The forms the route itself received (what reached the password check). */
  seen: Record<string, unknown>[];
  close(): Promise<void>;
}

type Framework = 'express' | 'koa' | 'fastify';

/** The route's check: a redirect for the right password (the form is done), the form again else. */
function check(body: Record<string, unknown>): number {
  const right = RIGHT[body.username as keyof typeof RIGHT];
  return right !== undefined && body.password === right ? 302 : 200;
}

async function start(framework: Framework, options: DetectorsOptions): Promise<App> {
  const memory = memorySink();
  const sink = detectors(options);
  const auditor = createAuditor({
    service: `enforce-${framework}`,
    sinks: [memory, sink],
    keys: { fingerprint: KEY },
    signIn: { routes: 'POST /login' },
    delivery: { handleSignals: false },
  });
  const seen: Record<string, unknown>[] = [];
  const answer = (body: Record<string, unknown> | undefined) => {
    seen.push({ ...body });
    return check(body ?? {});
  };
  if (framework === 'fastify') {
    const app = Fastify({ trustProxy: true });
    await app.register(fastifyAuthtrail, { auditor });
    app.post('/login', async (request, reply) => {
      const status = answer(request.body as Record<string, unknown>);
      return status === 302 ? reply.redirect('/home') : reply.type('text/html').send('<form>');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      auditor,
      memory,
      sink,
      seen,
      close: () => app.close(),
    };
  }
  let server;
  if (framework === 'express') {
    const app = express();
    app.set('trust proxy', true);
    app.use(expressAuthtrail({ auditor }));
    app.post('/login', express.urlencoded({ extended: false }), (req, res) => {
      if (answer(req.body as Record<string, unknown>) === 302) res.redirect('/home');
      else res.type('html').send('<form>');
    });
    server = app.listen(0, '127.0.0.1');
  } else {
    const app = new Koa({ proxy: true });
    app.use(koaAuthtrail({ auditor }));
    app.use(async (ctx) => {
      if (ctx.method !== 'POST' || ctx.path !== '/login') return;
      // What koa-bodyparser does: parse only when nobody parsed the body before.
      const request = ctx.request as typeof ctx.request & { body?: Record<string, unknown> };
      request.body ??= Object.fromEntries(new URLSearchParams(await text(ctx.req)));
      if (answer(request.body) === 302) ctx.redirect('/home');
      else ctx.body = '<form>';
    });
    server = app.listen(0, '127.0.0.1');
  }
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    auditor,
    memory,
    sink,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function text(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

/** Posts the sign-in form from `ip` (the apps trust X-Forwarded-For), as a browser would. */
async function signIn(
  app: App,
  framework: Framework,
  ip: string,
  username: string,
  password: string,
) {
  const json = framework === 'fastify';
  const response = await fetch(`${app.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
      'x-forwarded-for': ip,
    },
    body: json
      ? JSON.stringify({ username, password })
      : new URLSearchParams({ username, password }).toString(),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.text(),
  };
}

/** The events so far, once what was recorded (decisions and locks included) reached the sinks. */
async function events(app: App): Promise<AuditEvent[]> {
  await app.auditor.flush();
  return [...app.memory.events];
}

async function until(app: App, type: string, timeoutMs = 5000): Promise<AuditEvent[]> {
  const start = Date.now();
  for (;;) {
    const found = (await events(app)).filter((e) => e.type === type);
    if (found.length > 0 || Date.now() - start > timeoutMs) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('detectors({ enforce }) options', () => {
  test('reports every malformed enforce option at once, with ERR_AUTHTRAIL_INVALID_OPTIONS', () => {
    let error: unknown;
    try {
      detectors({ enforce: { lockout_s: 0, maxLocks: 'many', wait: 1 } as never });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' });
    const message = (error as Error).message;
    expect(message).toContain('enforce.lockout_s');
    expect(message).toContain('enforce.maxLocks');
    expect(message).toContain('enforce.wait');
  });

  test('refuses enforce with brute_force turned off: there would be nothing to lock', () => {
    expect(() => detectors({ enforce: true, builtIns: { brute_force: false } })).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringContaining('turn brute_force on'),
      }),
    );
  });

  test('refuses enforce on an auditor without signIn routes: there is no form to guard', () => {
    expect(() =>
      createAuditor({
        sinks: [detectors({ enforce: true })],
        keys: { fingerprint: KEY },
        delivery: { handleSignals: false },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringContaining('no `signIn` routes'),
      }),
    );
  });
});

describe.each<Framework>(['express', 'koa', 'fastify'])('enforcement through %s', (framework) => {
  let app: App;
  afterEach(async () => {
    await app.close();
    await app.auditor.close();
  });

  test('ten wrong passwords lock alice for that IP: 429 with Retry-After, unchecked, even the right password; alice elsewhere and bob from that IP go on; the lock and its end are events, with no password', async () => {
    app = await start(framework, { enforce: { lockout_s: LOCKOUT_S } });
    for (const password of WRONG.slice(0, 10))
      expect((await signIn(app, framework, '203.0.113.7', 'alice', password)).status).toBe(200);
    const [lockout] = await until(app, 'authn.lockout.success');
    const [detected] = (await events(app)).filter((e) => e.type === 'authn.bruteforce.detected');
    expect(lockout).toMatchObject({
      user: { hash: hash('alice') },
      source: { ip: '203.0.113.7' },
      lockout: { key: detected!.detection!.key, lockout_s: LOCKOUT_S },
    });
    const reached = app.seen.length;

    // Locked: refused before the route, whatever the password.
    for (const password of [WRONG[10]!, RIGHT.alice]) {
      const refused = await signIn(app, framework, '203.0.113.7', 'alice', password);
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(LOCKOUT_S);
      expect(Number.isInteger(Number(refused.retryAfter))).toBe(true);
      expect(refused.body).toBe('Too many failed sign-ins. Try again later.\n');
    }
    expect(app.seen.length).toBe(reached);

    // Alice from another IP, bob from the locked one: their forms reach the route whole.
    expect((await signIn(app, framework, '198.51.100.4', 'alice', RIGHT.alice)).status).toBe(302);
    expect((await signIn(app, framework, '203.0.113.7', 'bob', RIGHT.bob)).status).toBe(302);
    expect(app.seen.slice(reached)).toEqual([
      { username: 'alice', password: RIGHT.alice },
      { username: 'bob', password: RIGHT.bob },
    ]);

    const refusals = (await events(app)).filter((e) => e.reason === 'account_locked');
    expect(refusals).toHaveLength(2);
    for (const e of refusals)
      expect(e).toMatchObject({
        type: 'authn.login.failure',
        user: { hash: hash('alice') },
        source: { ip: '203.0.113.7' },
        http: { status: 429 },
      });
    // Refusals are not guesses: they neither count toward nor re-fire a detection.
    expect((await events(app)).filter((e) => e.outcome === 'detected')).toHaveLength(1);

    // The lock ends on its own: recorded, and alice's right password from that IP works again.
    const [ended] = await until(app, 'authn.lockout_end.success', (LOCKOUT_S + 2) * 1000);
    expect(ended).toMatchObject({ lockout: { key: lockout!.lockout!.key } });
    expect(Date.parse(ended!.time) - Date.parse(lockout!.time)).toBeGreaterThanOrEqual(
      LOCKOUT_S * 1000 - 50,
    );
    expect((await signIn(app, framework, '203.0.113.7', 'alice', RIGHT.alice)).status).toBe(302);
    expect(app.sink.stats().enforce).toEqual({ locks: 0, locked: 1, heard: 0, evicted: 0 });

    const text = JSON.stringify(await events(app));
    for (const secret of [...WRONG, RIGHT.alice, RIGHT.bob]) expect(text).not.toContain(secret);
  });

  test('without enforce the same attack is never refused', async () => {
    app = await start(framework, {});
    for (const password of WRONG.slice(0, 11))
      expect((await signIn(app, framework, '203.0.113.7', 'alice', password)).status).toBe(200);
    await until(app, 'authn.bruteforce.detected');
    expect((await signIn(app, framework, '203.0.113.7', 'alice', RIGHT.alice)).status).toBe(302);
    const all = await events(app);
    expect(all.filter((e) => e.type.startsWith('authn.lockout'))).toEqual([]);
    expect(all.filter((e) => e.reason === 'account_locked')).toEqual([]);
  });
});

describe('the form body authtrail reads itself, for a locked IP (Express)', () => {
  let app: App;
  beforeAll(async () => {
    app = await start('express', { enforce: { lockout_s: 60 } });
    for (const password of WRONG.slice(0, 10))
      await signIn(app, 'express', '203.0.113.9', 'alice', password);
    await until(app, 'authn.lockout.success');
  });
  afterAll(async () => {
    await app.close();
    await app.auditor.close();
  });
  const post = (body: string, type: string) =>
    fetch(`${app.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': type, 'x-forwarded-for': '203.0.113.9' },
      body,
    });

  test('a form over 16 KB from a locked IP is refused: it cannot be checked', async () => {
    const form = new URLSearchParams({
      username: 'bob',
      password: RIGHT.bob,
      pad: 'x'.repeat(17_000),
    });
    const answer = await post(form.toString(), 'application/x-www-form-urlencoded');
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(50);
  });

  test('a multipart form is neither read nor refused: the app reads its own stream', async () => {
    const seen = app.seen.length;
    const answer = await post('--b\r\n\r\n--b--\r\n', 'multipart/form-data; boundary=b');
    // express.urlencoded() skipped it (not its type): the route saw no form, and answered it.
    expect(answer.status).toBe(200);
    expect(app.seen.length).toBe(seen + 1);
  });

  test("another account's form from the locked IP reaches express.urlencoded()'s route whole, duplicate fields as the last one", async () => {
    const seen = app.seen.length;
    const answer = await post(
      `username=bob&password=${RIGHT.bob}&remember=on&note=a%20b%26c`,
      'application/x-www-form-urlencoded; charset=utf-8',
    );
    expect(answer.status).toBe(302);
    expect(app.seen[seen]).toEqual({
      username: 'bob',
      password: RIGHT.bob,
      remember: 'on',
      note: 'a b&c',
    });
  });
});
