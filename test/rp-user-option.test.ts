// The `user` option is one mechanism for the three adapters: the same relying party, written by
// hand on Express, Koa and Fastify (its session a cookie naming an in-memory entry), each on
// 127.0.0.1:0 and audited by its adapter, must give identical events (apart from the adapter,
// ids, times and latency) for a login, a callback that signed nobody in, a refused page and a
// logout that names who left.
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { createAuditor, memorySink, type AuditEvent, type MemorySink } from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';

const KEY = 'fingerprint-key-for-tests-0123456789';
const CLAIMS = { sub: 'alice', aud: 'web-app', iss: 'https://op.example', sid: 'op-sid-1' };
const SESSION_ID = 'session-id-9f8e7d6c5b4a39281706';

/** The app's session: a cookie naming an entry. `user` reads it from any framework's request. */
const sessions = new Map<string, typeof CLAIMS>();
const sessionOf = (cookie: unknown) =>
  typeof cookie === 'string'
    ? sessions.get(/(?:^|;\s*)sid=([^;]+)/.exec(cookie)?.[1] ?? '')
    : undefined;
const user = (request: { headers: { cookie?: string } }) => sessionOf(request.headers.cookie);

/** What the three apps do, whatever their framework: the status, a redirect, a body. */
function handle(path: string, cookie: unknown): { status: number; location?: string } {
  if (path.startsWith('/callback')) {
    if (path.includes('code=good')) sessions.set(SESSION_ID, CLAIMS);
    return { status: 302, location: '/' };
  }
  if (path === '/account') return { status: sessionOf(cookie) ? 200 : 401 };
  if (path === '/logout') return { status: 302, location: '/' };
  return { status: 404 };
}

interface App {
  name: string;
  url: string;
  sink: MemorySink;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

async function start(name: 'express' | 'koa' | 'fastify'): Promise<App> {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys: { fingerprint: KEY }, user });
  let server: Server;
  if (name === 'express') {
    const app = express();
    app.use(expressAuthtrail({ auditor }));
    app.use((req, res) => {
      const r = handle(req.originalUrl, req.headers.cookie);
      if (r.location) res.redirect(r.status, r.location);
      else res.sendStatus(r.status);
    });
    server = createServer(app);
  } else if (name === 'koa') {
    const app = new Koa();
    app.use(koaAuthtrail({ auditor }));
    app.use((ctx) => {
      const r = handle(ctx.originalUrl, ctx.headers.cookie);
      ctx.status = r.status;
      if (r.location) ctx.set('location', r.location);
      else ctx.body = String(r.status);
    });
    server = createServer(app.callback());
  } else {
    const app = Fastify();
    await app.register(fastifyAuthtrail, { auditor });
    // One route per path: a catch-all's template ('/*') would be the logged path.
    for (const path of ['/account', '/callback', '/logout'])
      app.get(path, async (request, reply) => {
        const r = handle(request.url, request.headers.cookie);
        if (r.location) return reply.redirect(r.location, r.status);
        return reply.code(r.status).send(String(r.status));
      });
    await app.ready();
    server = app.server;
  }
  const url = await listen(server);
  return {
    name,
    url,
    sink,
    flush: () => auditor.flush(),
    close: async () => {
      await new Promise((r) => server.close(r));
      await auditor.close();
    },
  };
}

const apps: App[] = [];
beforeAll(async () => {
  for (const name of ['express', 'koa', 'fastify'] as const) apps.push(await start(name));
});
afterAll(async () => {
  for (const app of apps) await app.close();
});

/** An event as the three adapters must agree on it. */
const comparable = (e: AuditEvent) => ({
  type: e.type,
  role: e.observer.role,
  reason: e.reason,
  user: e.user,
  client: e.client,
  oauth: e.oauth,
  session: e.session,
  path: e.http?.path,
  status: e.http?.status,
});

test('gives identical events on Express, Koa and Fastify for the user the app names', async () => {
  const results = [];
  for (const app of apps) {
    sessions.clear();
    const get = (path: string, cookie?: string) =>
      fetch(`${app.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    expect((await get('/account')).status).toBe(401);
    // The browser brings the session cookie its login start got; the callback fills the session.
    expect((await get('/callback?code=bad&state=s1', `sid=${SESSION_ID}`)).status).toBe(302);
    expect((await get('/callback?code=good&state=s2', `sid=${SESSION_ID}`)).status).toBe(302);
    expect((await get('/account', `sid=${SESSION_ID}`)).status).toBe(200);
    expect((await get('/logout', `sid=${SESSION_ID}`)).status).toBe(302);
    await app.flush();
    results.push(app.sink.events.map(comparable));
    expect(app.sink.events.every((e) => e.observer.adapter === app.name)).toBe(true);
    const text = JSON.stringify(app.sink.events);
    for (const secret of [SESSION_ID, 'op-sid-1', 'code=good', 's2'])
      expect(text).not.toContain(secret);
  }
  const [first, ...rest] = results;
  expect(first).toMatchObject([
    {
      type: 'authn.session.failure',
      role: 'rp',
      reason: 'session_missing',
      path: '/account',
      status: 401,
    },
    { type: 'authn.login.failure', role: 'rp', reason: 'missing_transaction', user: undefined },
    {
      type: 'authn.login.success',
      role: 'rp',
      reason: undefined,
      user: { id: 'alice' },
      client: { id: 'web-app' },
      oauth: { issuer: 'https://op.example' },
      session: { id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) },
    },
    { type: 'authn.logout.success', role: 'rp', user: { id: 'alice' }, client: { id: 'web-app' } },
  ]);
  expect(first).toHaveLength(4);
  for (const other of rest) expect(other).toEqual(first);
});
