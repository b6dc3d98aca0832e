import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import {
  AuthtrailError,
  createAuditor,
  fileSink,
  memorySink,
  type AuditEvent,
  type Sink,
} from '@authtrail/core';
import { authtrail, type FastifyAuthtrailOptions } from '@authtrail/fastify';
import {
  authorizationUrl,
  expectStartMatchingCallback,
  loginSecrets,
} from '../../../test/support/login-start.js';

const keys = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const secret = 'hs256-secret-for-tests-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function hs256(claims: Record<string, unknown>, key = secret): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/** A Fastify app whose auditor (memory sink) the test holds; `mount` adds plugins and routes. */
async function setup(
  mount: (app: FastifyInstance) => unknown = () => {},
  options: FastifyAuthtrailOptions = {},
) {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys, ...options });
  // forceCloseConnections: a client that aborted can leave a half-open socket that close() waits on.
  const app = Fastify({ forceCloseConnections: true });
  await app.register(authtrail, { auditor });
  await mount(app);
  const base = await listen(app);
  return { app, sink, auditor, base };
}

/** Listens on 127.0.0.1, a free port; the app is closed after the test. */
async function listen(app: FastifyInstance): Promise<string> {
  open.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const summary = (events: AuditEvent[]) =>
  events.map((e) => [e.type, e.reason, e.http?.route, e.http?.status]);

describe('@authtrail/fastify', () => {
  test('names the route template of routes added before the plugin as well as after it', async () => {
    const sink = memorySink();
    const app = Fastify();
    app.get('/early/:id', async () => ({ ok: true }));
    await app.register(authtrail, { sinks: [sink], keys });
    app.get('/late/:id', async () => ({ ok: true }));
    const base = await listen(app);
    const token = hs256({ sub: 'alice', exp: now() + 60 });
    await fetch(`${base}/early/1`, { headers: bearer(token) });
    await fetch(`${base}/late/2`, { headers: bearer(token) });
    await app.close();
    expect(sink.events.map((e) => [e.http?.route, e.http?.path])).toEqual([
      ['/early/:id', '/early/:id'],
      ['/late/:id', '/late/:id'],
    ]);
  });

  test('audits a bearer-token request with one registration, naming the route template, the path and the adapter', async () => {
    const sink = memorySink();
    const app = Fastify();
    await app.register(authtrail, { sinks: [sink], keys, service: 'orders' });
    app.get('/orders/:id', async () => ({ ok: true }));
    const base = await listen(app);
    const token = `${b64({ alg: 'RS256' })}.${b64({ sub: 'u1', scope: 'orders:read' })}.sig`;

    const res = await fetch(`${base}/orders/7?expand=items`, {
      headers: { ...bearer(token), 'user-agent': 'orders-test/1' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    await app.close();

    expect(sink.events).toEqual([
      expect.objectContaining({
        type: 'api.access.success',
        observer: expect.objectContaining({ role: 'rs', service: 'orders', adapter: 'fastify' }),
        user: { id: 'u1' },
        oauth: expect.objectContaining({
          scope: ['orders:read'],
          token: expect.objectContaining({ type: 'access_token', verified: false }),
        }),
        http: expect.objectContaining({
          method: 'GET',
          route: '/orders/:id',
          path: '/orders/:id',
          query: 'expand=[redacted]',
          status: 200,
        }),
        source: expect.objectContaining({ ip: '127.0.0.1', user_agent: 'orders-test/1' }),
      }),
    ]);
    expect(sink.events[0]!.http!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(sink.text()).not.toContain(token);
  });

  describe('with @fastify/jwt verifying HS256 tokens', () => {
    const api = (mount: (app: FastifyInstance) => unknown = () => {}) =>
      setup(async (app) => {
        await app.register(fastifyJwt, { secret });
        mount(app);
        app.get('/items/:id', async (request) => {
          await request.jwtVerify();
          return { id: (request.params as { id: string }).id };
        });
      });
    const claims = (extra: Record<string, unknown> = {}) => ({
      sub: 'u1',
      client_id: 'cli',
      scope: 'items:read',
      aud: 'https://api.test',
      exp: now() + 60,
      ...extra,
    });

    test('logs the claims request.jwtVerify() accepted as verified', async () => {
      const { sink, auditor, base } = await api();
      const res = await fetch(`${base}/items/3`, { headers: bearer(hs256(claims())) });
      expect(res.status).toBe(200);
      await auditor.flush();
      expect(sink.events).toEqual([
        expect.objectContaining({
          type: 'api.access.success',
          user: { id: 'u1' },
          client: { id: 'cli' },
          oauth: expect.objectContaining({
            scope: ['items:read'],
            audience: ['https://api.test'],
            token: expect.objectContaining({ verified: true, alg: 'HS256' }),
          }),
          http: expect.objectContaining({ route: '/items/:id', path: '/items/:id', status: 200 }),
        }),
      ]);
    });

    test('logs a token with a bad signature as api.authn.failure token_invalid, unverified, when the 401 carries no challenge', async () => {
      const { sink, auditor, base } = await api();
      const res = await fetch(`${base}/items/3`, {
        headers: bearer(hs256(claims(), 'another-secret-of-the-same-length-000000')),
      });
      expect(res.status).toBe(401);
      // @fastify/jwt answers without a WWW-Authenticate challenge, so core can only say token_invalid.
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(((await res.json()) as { code: string }).code).toBe(
        'FST_JWT_AUTHORIZATION_TOKEN_INVALID',
      );
      await auditor.flush();
      expect(sink.events.map((e) => [e.type, e.reason, e.oauth?.token?.verified])).toEqual([
        ['api.authn.failure', 'token_invalid', false],
      ]);
      expect(sink.events[0]!.user).toEqual({ id: 'u1' }); // who the caller claimed to be
    });

    test('reads the WWW-Authenticate challenge the app set with reply.header() to name the exact reason', async () => {
      const { sink, auditor, base } = await api((app) =>
        app.setErrorHandler((error: { statusCode?: number }, _request, reply) =>
          reply
            .code(error.statusCode ?? 500)
            .header(
              'www-authenticate',
              'Bearer error="invalid_token", error_description="The token signature is invalid."',
            )
            .send({ error: 'invalid_token' }),
        ),
      );
      const res = await fetch(`${base}/items/3`, {
        headers: bearer(hs256(claims(), 'another-secret-of-the-same-length-000000')),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      await auditor.flush();
      expect(sink.events.map((e) => [e.type, e.reason, e.error?.code])).toEqual([
        ['api.authn.failure', 'signature_invalid', 'invalid_token'],
      ]);
    });

    test('logs an expired token as api.authn.failure token_expired', async () => {
      const { sink, auditor, base } = await api();
      const res = await fetch(`${base}/items/3`, {
        headers: bearer(hs256(claims({ exp: now() - 600 }))),
      });
      expect(res.status).toBe(401);
      await auditor.flush();
      expect(sink.events.map((e) => [e.type, e.reason, e.oauth?.token?.verified])).toEqual([
        ['api.authn.failure', 'token_expired', false],
      ]);
    });

    test('logs a 401 for a request without a token as api.authn.failure token_missing, with no token fields', async () => {
      const { sink, auditor, base } = await api();
      const res = await fetch(`${base}/items/3`);
      expect(res.status).toBe(401);
      await auditor.flush();
      expect(summary(sink.events)).toEqual([
        ['api.authn.failure', 'token_missing', '/items/:id', 401],
      ]);
      expect(sink.events[0]!.oauth).toBeUndefined();
    });
  });

  test('logs nothing for a successful request without a bearer token, and a 403 without one as api.authz.failure forbidden', async () => {
    const { sink, auditor, base } = await setup((app) => {
      app.get('/public', async () => 'hello');
      app.get('/admin', async (_request, reply) => reply.code(403).send());
    });
    expect((await fetch(`${base}/public`)).status).toBe(200);
    await auditor.flush();
    expect(sink.events).toEqual([]);
    expect(auditor.stats().enqueued).toBe(0);

    expect((await fetch(`${base}/admin`)).status).toBe(403);
    await auditor.flush();
    expect(summary(sink.events)).toEqual([['api.authz.failure', 'forbidden', '/admin', 403]]);
  });

  test('exposes a recorder as request.audit for manual events', async () => {
    const { sink, auditor, base } = await setup((app) =>
      app.post('/mfa', async (request, reply) => {
        request.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u9' } });
        return reply.code(204).send();
      }),
    );
    expect((await fetch(`${base}/mfa`, { method: 'POST' })).status).toBe(204);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.user?.id, e.observer.adapter])).toEqual([
      ['authn.mfa_verify.success', 'u9', 'fastify'],
    ]);
  });

  test('never changes the response when every sink throws, and counts the failed write', async () => {
    const broken: Sink = {
      name: 'broken',
      write: () => {
        throw new Error('boom');
      },
    };
    const route = (app: FastifyInstance) =>
      app.get('/x', async (_request, reply) => reply.header('x-app', '1').code(201).send('made'));
    const auditor = createAuditor({ sinks: [broken], keys, delivery: { retries: 0 } });
    const audited = Fastify();
    await audited.register(authtrail, { auditor });
    route(audited);
    const bare = Fastify();
    route(bare);
    const [withAudit, without] = await Promise.all([listen(audited), listen(bare)]);

    const call = async (base: string) => {
      const res = await fetch(`${base}/x`, { headers: bearer('abc') });
      const headers = Object.fromEntries(res.headers);
      delete headers.date;
      return { status: res.status, body: await res.text(), headers };
    };
    const seen = await call(withAudit);
    expect(seen).toEqual(await call(without));
    expect(seen).toMatchObject({ status: 201, body: 'made', headers: { 'x-app': '1' } });
    await auditor.flush();
    expect(auditor.stats()).toMatchObject({ enqueued: 1, delivered: 0, failed: 1 });
  });

  test('throws the typed startup error at registration for broken options', async () => {
    const app = Fastify();
    open.push(app);
    const registered = app.register(authtrail, { sinks: 'stdout' } as never);
    await expect(registered).rejects.toBeInstanceOf(AuthtrailError);
    await expect(app.ready()).rejects.toMatchObject({
      code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
      message: expect.stringContaining('sinks'),
    });
  });

  test('registered inside an encapsulated plugin, audits only that plugin’s routes', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys });
    const app = Fastify();
    await app.register(async (child) => {
      await child.register(authtrail, { auditor });
      child.get('/inner/:id', async (request) => ({ audited: Boolean(request.audit) }));
    });
    app.get('/outer', async (request) => ({ audited: Boolean(request.audit) }));
    const base = await listen(app);

    const inner = await fetch(`${base}/inner/1`, { headers: bearer('abc') });
    const outer = await fetch(`${base}/outer`, { headers: bearer('abc') });
    expect(await inner.json()).toEqual({ audited: true });
    expect(await outer.json()).toEqual({ audited: false });
    await auditor.flush();
    expect(summary(sink.events)).toEqual([['api.access.success', undefined, '/inner/:id', 200]]);
  });

  test('registered at the root, audits the routes of every plugin', async () => {
    const { sink, auditor, base } = await setup(async (app) => {
      await app.register(
        async (child) => {
          child.get('/inner/:id', async () => 'inner');
        },
        { prefix: '/v1' },
      );
      app.get('/outer', async () => 'outer');
    });
    await fetch(`${base}/v1/inner/1`, { headers: bearer('abc') });
    await fetch(`${base}/outer`, { headers: bearer('abc') });
    await auditor.flush();
    expect(summary(sink.events)).toEqual([
      ['api.access.success', undefined, '/v1/inner/:id', 200],
      ['api.access.success', undefined, '/outer', 200],
    ]);
  });

  test('app.close() flushes and closes its own auditor, so every event reaches a file sink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authtrail-fastify-'));
    try {
      const path = join(dir, 'audit.jsonl');
      const app = Fastify();
      await app.register(authtrail, { sinks: [fileSink(path)], keys });
      app.get('/x', async () => 'ok');
      const base = await listen(app);
      await Promise.all([1, 2, 3].map(() => fetch(`${base}/x`, { headers: bearer('abc') })));
      await app.close();
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as AuditEvent).type)).toEqual([
        'api.access.success',
        'api.access.success',
        'api.access.success',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('app.close() only flushes a shared auditor, which stays open for other apps', async () => {
    const { app, sink, auditor, base } = await setup((a) => a.get('/x', async () => 'ok'));
    await fetch(`${base}/x`, { headers: bearer('abc') });
    await app.close();
    expect(sink.events.map((e) => e.type)).toEqual(['api.access.success']);
    expect(() => auditor.record({ type: 'authn.mfa_verify.success' })).not.toThrow();
    await auditor.flush();
    expect(sink.events).toHaveLength(2);
    await auditor.close();
  });

  test('gives a relying-party callback failure the reason of the error the route raised', async () => {
    const { sink, auditor, base } = await setup((app) =>
      app.get('/callback', async () => {
        throw Object.assign(new Error('invalid response encountered'), {
          statusCode: 400,
          error: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
        });
      }),
    );
    expect((await fetch(`${base}/callback?code=c&state=s`)).status).toBe(400);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.reason, e.http?.query])).toEqual([
      ['authn.login.failure', 'id_token_invalid', 'code=[redacted]&state=[redacted]'],
    ]);
  });

  test('reads the parsed body of a form_post callback for the provider’s error', async () => {
    const { sink, auditor, base } = await setup((app) =>
      app.post('/callback', async (_request, reply) => reply.code(400).send()),
    );
    const res = await fetch(`${base}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'access_denied', state: 's' }),
    });
    expect(res.status).toBe(400);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.reason, e.error?.code])).toEqual([
      ['authn.login.failure', 'idp_error', 'access_denied'],
    ]);
  });

  test('reads the Location of a login redirect for the client id and flow id', async () => {
    const { sink, auditor, base } = await setup((app) =>
      app.get('/login', async (_request, reply) =>
        reply.redirect('https://op.example/authorize?client_id=shop&nonce=n1&scope=openid'),
      ),
    );
    const res = await fetch(`${base}/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    await auditor.flush();
    expect(sink.events).toEqual([
      expect.objectContaining({
        type: 'authn.login_start.success',
        client: { id: 'shop' },
        oauth: { scope: ['openid'] },
        flow: { id: expect.any(String) },
      }),
    ]);
  });

  test('audits a request the client aborted before the handler answered, once', async () => {
    let answered!: () => void;
    const late = new Promise<void>((r) => (answered = r));
    const { sink, auditor, base } = await setup((app) =>
      app.get('/slow', (request, reply) => {
        request.raw.once('close', () =>
          setTimeout(() => {
            reply.send('too late');
            answered();
          }, 20),
        );
      }),
    );
    const controller = new AbortController();
    const pending = fetch(`${base}/slow`, { headers: bearer('abc'), signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await late;
    await new Promise((r) => setTimeout(r, 50));
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.http?.route])).toEqual([
      ['api.access.success', '/slow'],
    ]);
  });

  test('audits a request answered early whose upload the client then aborted, once', async () => {
    const { sink, auditor, base } = await setup((app) => {
      // Refuses before the body is read, as an auth hook does; the client is still uploading.
      app.addHook('onRequest', async (_request, reply) => reply.code(401).send());
      app.post('/upload', async () => 'stored');
    });
    const controller = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode('x'.repeat(1024))), // and never ends
    });
    const res = await fetch(`${base}/upload`, {
      method: 'POST',
      body,
      signal: controller.signal,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(401);
    controller.abort();
    await new Promise((r) => setTimeout(r, 100));
    await auditor.flush();
    expect(summary(sink.events)).toEqual([['api.authn.failure', 'token_missing', '/upload', 401]]);
  });

  test('audits a request refused by an onRequest hook that ran before authtrail’s, with its real time', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys });
    const app = Fastify();
    app.addHook('onRequest', async (_request, reply) => reply.code(401).send());
    await app.register(authtrail, { auditor });
    app.get('/guarded', async () => 'never');
    const base = await listen(app);
    const before = Date.now();
    expect((await fetch(`${base}/guarded`)).status).toBe(401);
    await auditor.flush();
    expect(summary(sink.events)).toEqual([['api.authn.failure', 'token_missing', '/guarded', 401]]);
    expect(Date.parse(sink.events[0]!.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(sink.events[0]!.time)).toBeLessThanOrEqual(Date.now());
  });
});

describe('login start from a protected page (an openid-client app redirecting by hand)', () => {
  test('logs authn.login_start.success with client, scope and the flow id the callback gives, and none of the secrets', async () => {
    const secrets = loginSecrets();
    const { sink, auditor, base } = await setup((app) => {
      app.get('/account/:section', (_request, reply) =>
        reply.redirect(authorizationUrl('fastify-rp', secrets)),
      );
    });
    const res = await fetch(`${base}/account/orders`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    await expectStartMatchingCallback(auditor, sink, 'fastify', 'fastify-rp', secrets);
  });
});
