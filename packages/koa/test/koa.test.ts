import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import koaJwt from 'koa-jwt';
import { createHmac } from 'node:crypto';
import { createAuditor, memorySink, type Sink } from '@authtrail/core';
import { authtrail } from '@authtrail/koa';
import {
  authorizationUrl,
  expectStartMatchingCallback,
  loginSecrets,
} from '../../../test/support/login-start.js';

const keys = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const SECRET = 'koa-jwt-shared-secret-for-tests-0123456789';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const hs256 = (claims: Record<string, unknown>, secret = SECRET) => {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

async function serve(app: Koa): Promise<string> {
  const server = createServer(app.callback());
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function api(sinks: Sink[] = [memorySink()]) {
  const auditor = createAuditor({ sinks, keys, delivery: { retries: 0 } });
  const app = new Koa();
  app.use(authtrail({ auditor }));
  const router = new Router();
  router.get('/orders/:id', koaJwt({ secret: SECRET }), (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.post('/mfa', (ctx) => {
    ctx.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u7' } });
    ctx.status = 204;
  });
  router.get('/boom', () => {
    throw Object.assign(new Error('nope'), { status: 418, expose: true });
  });
  app.use(router.routes());
  return { app, auditor };
}

describe('@authtrail/koa', () => {
  test('logs the claims koa-jwt verified (ctx.state.user) with the matched route and the adapter', async () => {
    const sink = memorySink();
    const { app, auditor } = api([sink]);
    const url = await serve(app);
    const res = await fetch(`${url}/orders/9`, {
      headers: { authorization: `Bearer ${hs256({ sub: 'u1', scope: 'orders:read' })}` },
    });
    expect(res.status).toBe(200);
    await auditor.flush();
    expect(sink.events).toEqual([
      expect.objectContaining({
        type: 'api.access.success',
        observer: expect.objectContaining({ role: 'rs', adapter: 'koa' }),
        user: { id: 'u1' },
        oauth: expect.objectContaining({
          scope: ['orders:read'],
          token: expect.objectContaining({ verified: true, alg: 'HS256' }),
        }),
        http: expect.objectContaining({ route: '/orders/:id', path: '/orders/:id', status: 200 }),
      }),
    ]);
  });

  test('logs a token koa-jwt rejected as api.authn.failure with the final status Koa sent', async () => {
    const sink = memorySink();
    const { app, auditor } = api([sink]);
    const url = await serve(app);
    const expired = hs256({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 60 });
    const forged = hs256({ sub: 'u1' }, 'another-secret-of-the-same-length-0123456789');
    expect(
      (await fetch(`${url}/orders/1`, { headers: { authorization: `Bearer ${expired}` } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${url}/orders/1`, { headers: { authorization: `Bearer ${forged}` } })).status,
    ).toBe(401);
    expect((await fetch(`${url}/orders/1`)).status).toBe(401);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.reason, e.oauth?.token?.verified ?? null])).toEqual([
      ['api.authn.failure', 'token_expired', false],
      ['api.authn.failure', 'token_invalid', false],
      ['api.authn.failure', 'token_missing', null],
    ]);
  });

  test('exposes a recorder as ctx.audit for manual events', async () => {
    const sink = memorySink();
    const { app, auditor } = api([sink]);
    const url = await serve(app);
    expect((await fetch(`${url}/mfa`, { method: 'POST' })).status).toBe(204);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.user?.id])).toEqual([
      ['authn.mfa_verify.success', 'u7'],
    ]);
  });

  test("source.ip is the socket's address, or the client's from X-Forwarded-For when app.proxy is set", async () => {
    const ipOf = async (proxy: boolean) => {
      const sink = memorySink();
      const { app, auditor } = api([sink]);
      app.proxy = proxy;
      const url = await serve(app);
      await fetch(`${url}/orders/1`, {
        headers: { authorization: 'Bearer opaque-token', 'x-forwarded-for': '203.0.113.9' },
      });
      await auditor.flush();
      return sink.events[0]?.source;
    };
    expect(await ipOf(false)).toEqual(expect.objectContaining({ ip: '127.0.0.1' }));
    expect(await ipOf(true)).toEqual(
      expect.objectContaining({ ip: '203.0.113.9', forwarded: ['203.0.113.9'] }),
    );
  });

  test('passes errors on untouched and never changes the response, even when every sink throws', async () => {
    const broken: Sink = { name: 'broken', write: () => Promise.reject(new Error('down')) };
    const { app, auditor } = api([broken]);
    app.silent = true;
    const url = await serve(app);
    const res = await fetch(`${url}/boom`, {
      headers: { authorization: 'Bearer opaque-token-1234' },
    });
    expect(res.status).toBe(418);
    expect(await res.text()).toBe('nope');
    const ok = await fetch(`${url}/orders/3`, {
      headers: { authorization: `Bearer ${hs256({ sub: 'u' })}` },
    });
    expect(await ok.json()).toEqual({ id: '3' });
    await auditor.flush();
    expect(auditor.stats()).toMatchObject({ enqueued: 2, failed: 2 });
  });

  test('throws the typed startup error for broken options', () => {
    expect(() => authtrail({ routes: 'keycloak' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }),
    );
  });

  test("with routes: 'oidc-provider', requests without oidc-provider's context are not events", async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys, routes: 'oidc-provider' });
    const app = new Koa();
    app.use(authtrail({ auditor }));
    app.use((ctx) => {
      ctx.status = 401;
    });
    const url = await serve(app);
    await fetch(`${url}/anything`, { headers: { authorization: 'Bearer abc' } });
    await auditor.flush();
    expect(sink.events).toEqual([]);
  });
});

describe('login start from a protected page (an openid-client app redirecting by hand)', () => {
  test('logs authn.login_start.success with client, scope and the flow id the callback gives, and none of the secrets', async () => {
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys, delivery: { retries: 0 } });
    const app = new Koa();
    app.use(authtrail({ auditor }));
    const secrets = loginSecrets();
    const router = new Router();
    router.get('/account/:section', (ctx) => ctx.redirect(authorizationUrl('koa-rp', secrets)));
    app.use(router.routes());
    const base = await serve(app);
    const res = await fetch(`${base}/account/orders`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    await expectStartMatchingCallback(auditor, sink, 'koa', 'koa-rp', secrets);
  });
});
