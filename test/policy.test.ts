// The policy option on real Express, Koa and Fastify servers (127.0.0.1:0): a monitoring probe's
// health checks are skipped and counted, a failure on the same route is still recorded, and the
// same rules give the same events on all three.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { createAuditor, memorySink, type Auditor, type PolicyRule } from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A JWT-shaped access token of `client` (decoded, not verified: enough for `client.id`). */
const bearer = (client: string) =>
  `Bearer ${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64({
    iss: 'https://op.example',
    sub: 'svc-1',
    client_id: client,
    exp: 9_999_999_999,
  })}.${'s'.repeat(86)}`;

function listen(server: Server): Promise<string> {
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/**
 * One app per framework: GET /healthz answers 200 to a bearer token and 401 without one, GET
 * /items answers 200, POST /mfa records a manual event for the client in the `x-client` header.
 */
const servers: Record<string, (auditor: Auditor) => Promise<string>> = {
  async express(auditor) {
    const app = express();
    app.use(expressAuthtrail({ auditor }));
    app.get('/healthz', (req, res) => res.sendStatus(req.headers.authorization ? 200 : 401));
    app.get('/items', (_req, res) => res.sendStatus(200));
    app.post('/mfa', (req, res) => {
      req.audit.record({ type: 'authn.mfa_verify.success', client: { id: req.get('x-client')! } });
      res.sendStatus(204);
    });
    return listen(app.listen(0, '127.0.0.1') as Server);
  },
  async koa(auditor) {
    const app = new Koa();
    app.use(koaAuthtrail({ auditor }));
    app.use((ctx) => {
      if (ctx.path === '/healthz') ctx.status = ctx.get('authorization') ? 200 : 401;
      else if (ctx.path === '/mfa') {
        ctx.audit.record({ type: 'authn.mfa_verify.success', client: { id: ctx.get('x-client') } });
        ctx.status = 204;
      } else ctx.status = 200;
    });
    return listen(app.listen(0, '127.0.0.1') as Server);
  },
  async fastify(auditor) {
    const app = Fastify();
    await app.register(fastifyAuthtrail, { auditor });
    app.get('/healthz', async (request, reply) =>
      reply.code(request.headers.authorization ? 200 : 401).send(),
    );
    app.get('/items', async (_request, reply) => reply.code(200).send());
    app.post('/mfa', async (request, reply) => {
      const client = request.headers['x-client'] as string;
      request.audit.record({ type: 'authn.mfa_verify.success', client: { id: client } });
      return reply.code(204).send();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  },
};

const policy: PolicyRule[] = [
  { action: 'skip', route: '/healthz', outcome: 'success' },
  { action: 'skip', type: 'authn.mfa_verify.*', client: 'probe' },
];

describe.each(Object.keys(servers))('policy on %s', (framework) => {
  test('health checks are skipped and counted, a failure on the same route and other events are recorded', async () => {
    const sink = memorySink();
    const auditor = createAuditor({
      sinks: [sink],
      keys: { fingerprint: 'policy-e2e-fingerprint-key-0123456789' },
      delivery: { handleSignals: false },
      policy,
    });
    closers.push(() => auditor.close());
    const url = await servers[framework]!(auditor);
    const get = (path: string, client?: string) =>
      fetch(url + path, { headers: client ? { authorization: bearer(client) } : {} });

    for (let i = 0; i < 3; i++) expect((await get('/healthz', 'probe')).status).toBe(200);
    expect((await get('/healthz')).status).toBe(401);
    expect((await get('/items', 'web')).status).toBe(200);
    for (const client of ['probe', 'web'])
      expect(
        (await fetch(`${url}/mfa`, { method: 'POST', headers: { 'x-client': client } })).status,
      ).toBe(204);

    // Events are built as responses close, just after fetch resolves: wait for all 7 to be decided.
    while (sink.events.length + auditor.stats().skipped < 7) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await auditor.flush();
    }
    expect(sink.events.map((e) => [e.type, e.reason ?? e.client?.id])).toEqual(
      expect.arrayContaining([
        ['api.authn.failure', 'token_missing'],
        ['api.access.success', 'web'],
        ['authn.mfa_verify.success', 'web'],
      ]),
    );
    expect(sink.events.find((e) => e.type === 'api.authn.failure')?.http?.path).toBe('/healthz');
    expect(sink.events).toHaveLength(3);
    expect(sink.events.every((e) => e.observer.adapter === framework)).toBe(true);
    expect(auditor.stats()).toMatchObject({ skipped: 4, skippedByRule: [3, 1], enqueued: 3 });
  });
});

test('an adapter that creates its own auditor takes the policy as one of its options', async () => {
  const sink = memorySink();
  const app = express();
  app.use(
    expressAuthtrail({
      sinks: [sink],
      keys: { fingerprint: 'policy-e2e-fingerprint-key-0123456789' },
      delivery: { handleSignals: false },
      policy: [{ action: 'skip', route: '/healthz' }],
    }),
  );
  app.get('/healthz', (_req, res) => res.sendStatus(200));
  app.get('/items', (_req, res) => res.sendStatus(200));
  const url = await listen(app.listen(0, '127.0.0.1') as Server);

  const headers = { authorization: bearer('probe') };
  expect((await fetch(`${url}/healthz`, { headers })).status).toBe(200);
  expect((await fetch(`${url}/items`, { headers })).status).toBe(200);
  while (sink.events.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));

  // Responses close in order on one connection: /healthz was decided before /items was recorded.
  expect(sink.events.map((e) => [e.type, e.http?.path])).toEqual([
    ['api.access.success', '/items'],
  ]);
});
