// One auditor shared by an Express, a Koa and a Fastify app (the pattern docs/frameworks.md gives
// for several apps in one process), each a real server on 127.0.0.1:0. Every event names the adapter that saw it;
// what the app records through the auditor itself keeps the auditor's own label.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { createAuditor, memorySink, type Auditor } from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';

const KEY = 'shared-auditor-test-fingerprint-key';
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
});

function listen(server: Server): Promise<string> {
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** Three apps on one auditor: GET /items answers 401 (no token), POST /mfa records a manual event. */
async function apps(auditor: Auditor): Promise<Record<'express' | 'koa' | 'fastify', string>> {
  const e = express();
  e.use(expressAuthtrail({ auditor }));
  e.get('/items', (_req, res) => res.sendStatus(401));
  e.post('/mfa', (req, res) => {
    req.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u-express' } });
    res.sendStatus(204);
  });

  const k = new Koa();
  k.use(koaAuthtrail({ auditor }));
  k.use((ctx) => {
    if (ctx.path === '/mfa') {
      ctx.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u-koa' } });
      ctx.status = 204;
    } else ctx.status = 401;
  });

  const f = Fastify();
  await f.register(fastifyAuthtrail, { auditor });
  f.get('/items', async (_request, reply) => reply.code(401).send());
  f.post('/mfa', async (request, reply) => {
    request.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u-fastify' } });
    return reply.code(204).send();
  });
  await f.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => f.close());
  const port = (f.server.address() as AddressInfo).port;

  return {
    express: await listen(e.listen(0, '127.0.0.1') as Server),
    koa: await listen(k.listen(0, '127.0.0.1') as Server),
    fastify: `http://127.0.0.1:${port}`,
  };
}

test('a shared auditor labels each event with the adapter that saw it, and its own events "core"', async () => {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys: { fingerprint: KEY } });
  closers.push(() => auditor.close());
  const urls = await apps(auditor);

  for (const name of ['express', 'koa', 'fastify'] as const) {
    expect((await fetch(`${urls[name]}/items`)).status).toBe(401);
    expect((await fetch(`${urls[name]}/mfa`, { method: 'POST' })).status).toBe(204);
  }
  auditor.record({ type: 'authn.mfa_enroll.success', user: { id: 'u-app' } });
  // Each request's event is built when its response closes, just after fetch resolves.
  while (sink.events.length < 7) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await auditor.flush();
  }

  const seen = sink.events.map((e) => [e.observer.adapter, e.type, e.reason ?? e.user?.id]);
  expect(seen.sort()).toEqual([
    ['core', 'authn.mfa_enroll.success', 'u-app'],
    ['express', 'api.authn.failure', 'token_missing'],
    ['express', 'authn.mfa_verify.success', 'u-express'],
    ['fastify', 'api.authn.failure', 'token_missing'],
    ['fastify', 'authn.mfa_verify.success', 'u-fastify'],
    ['koa', 'api.authn.failure', 'token_missing'],
    ['koa', 'authn.mfa_verify.success', 'u-koa'],
  ]);
  // The label is the only difference: one service, one instance, one role per kind of event.
  expect(new Set(sink.events.map((e) => `${e.observer.service} ${e.observer.instance}`)).size).toBe(
    1,
  );
});

test('an auditor an adapter created itself keeps naming that adapter, in what the app records too', async () => {
  const sink = memorySink();
  const app = express();
  app.use(expressAuthtrail({ sinks: [sink], keys: { fingerprint: KEY } }));
  app.post('/mfa', (req, res) => {
    req.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u-1' } });
    res.sendStatus(204);
  });
  app.get('/items', (_req, res) => res.sendStatus(401));
  const url = await listen(app.listen(0, '127.0.0.1') as Server);

  expect((await fetch(`${url}/mfa`, { method: 'POST' })).status).toBe(204);
  expect((await fetch(`${url}/items`)).status).toBe(401);
  while (sink.events.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));

  expect(sink.events.map((e) => [e.observer.adapter, e.type])).toEqual([
    ['express', 'authn.mfa_verify.success'],
    ['express', 'api.authn.failure'],
  ]);
});
