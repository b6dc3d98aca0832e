// `req.audit` / `ctx.audit` / `request.audit` over real HTTP: a manual event recorded in a request
// carries that request's context (http, source, flow, trace) wherever the app left it out, in
// Express, Koa (@koa/router) and Fastify alike. Events are read back from a memory sink.
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';

const KEY = 'request-recorder-test-fingerprint-key-5b1e';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
// The relying party's login transaction, as express-openid-connect keeps it in a cookie: only the
// nonce's keyed hash may leave it (the flow id), never the nonce, the state or the PKCE verifier.
const TRANSACTION = {
  state: 'state-canary-1f2e3d4c5b6a',
  nonce: 'nonce-canary-9a8b7c6d5e4f',
  code_verifier: 'verifier-canary-0c1d2e3f4a5b',
};
const COOKIE = `auth_verification=${encodeURIComponent(JSON.stringify(TRANSACTION))}.c2ln`;

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

const MFA: ManualEvent = {
  type: 'authn.mfa_verify.failure',
  reason: 'otp_invalid',
  user: { id: 'u-42' },
};
// The app's own values win over the request's, field by field.
const OWN: ManualEvent = {
  type: 'authn.step_up.success',
  http: { status: 299 },
  source: { ip: '203.0.113.9' },
  flow: { id: 'app-flow' },
};

/**
 * Each app: POST /accounts/:id/mfa records MFA in the handler (the response not sent yet), POST
 * /accounts/:id/own records OWN, and POST /accounts/:id/after records MFA once the response went.
 */
async function start(
  framework: string,
): Promise<{ url: string; events: AuditEvent[]; text(): string; flush(): Promise<void> }> {
  const sink = memorySink();
  const auditor = createAuditor({
    service: `recorder-${framework}`,
    sinks: [sink],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  closers.push(() => auditor.close());
  let url: string;
  if (framework === 'express') {
    const app = express();
    app.use(expressAuthtrail({ auditor }));
    app.post('/accounts/:id/mfa', (req, res) => {
      req.audit.record(MFA);
      res.sendStatus(401);
    });
    app.post('/accounts/:id/own', (req, res) => {
      req.audit.record(OWN);
      res.sendStatus(204);
    });
    app.post('/accounts/:id/after', (req, res) => {
      res.on('finish', () => req.audit.record(MFA));
      res.sendStatus(202);
    });
    url = await listen(createServer(app));
  } else if (framework === 'koa') {
    const app = new Koa();
    const router = new Router();
    router.post('/accounts/:id/mfa', (ctx) => {
      ctx.audit.record(MFA);
      ctx.status = 401;
    });
    router.post('/accounts/:id/own', (ctx) => {
      ctx.audit.record(OWN);
      ctx.status = 204;
    });
    router.post('/accounts/:id/after', (ctx) => {
      ctx.res.on('finish', () => ctx.audit.record(MFA));
      ctx.status = 202;
    });
    app.use(koaAuthtrail({ auditor }));
    app.use(router.routes());
    url = await listen(createServer(app.callback()));
  } else {
    const app = Fastify();
    await app.register(fastifyAuthtrail, { auditor });
    app.post('/accounts/:id/mfa', async (request, reply) => {
      request.audit.record(MFA);
      return reply.code(401).send();
    });
    app.post('/accounts/:id/own', async (request, reply) => {
      request.audit.record(OWN);
      return reply.code(204).send();
    });
    app.post('/accounts/:id/after', async (request, reply) => {
      reply.raw.on('finish', () => request.audit.record(MFA));
      return reply.code(202).send();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  return { url, events: sink.events, text: sink.text, flush: () => auditor.flush() };
}

const post = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'user-agent': 'recorder-test/1.0',
      'x-request-id': 'req-42',
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      cookie: COOKIE,
    },
  });

const flowId = createHmac('sha256', KEY)
  .update(TRANSACTION.nonce)
  .digest()
  .subarray(0, 16)
  .toString('base64url');

describe.each(['express', 'koa', 'fastify'])('%s', (framework) => {
  test('a manual event recorded in a request carries its http, source, flow and trace', async () => {
    const app = await start(framework);
    await post(`${app.url}/accounts/acct-7731/mfa?otp=123456`);
    await app.flush();
    const manual = app.events.filter((e) => e.type === MFA.type);
    expect(manual).toHaveLength(1);
    const e = manual[0]!;
    expect(e.observer).toMatchObject({ role: 'rs', adapter: framework });
    expect(e.reason).toBe('otp_invalid');
    expect(e.user).toEqual({ id: 'u-42' });
    // Recorded before the response: no status yet, and no duration (the request is not over).
    expect(e.http).toEqual({
      request_id: 'req-42',
      method: 'POST',
      route: '/accounts/:id/mfa',
      path: '/accounts/:id/mfa',
      query: 'otp=[redacted]',
    });
    expect(e.source).toEqual({ ip: '127.0.0.1', user_agent: 'recorder-test/1.0' });
    expect(e.trace).toEqual({ id: TRACE_ID, span_id: SPAN_ID });
    expect(e.flow).toEqual({ id: flowId });
    const text = app.text();
    for (const secret of [...Object.values(TRANSACTION), '123456', 'acct-7731'])
      expect(text).not.toContain(secret);
  });

  test("the app's own http, source and flow values win, field by field", async () => {
    const app = await start(framework);
    await post(`${app.url}/accounts/a/own`);
    await app.flush();
    const e = app.events.find((x) => x.type === OWN.type)!;
    expect(e.http).toMatchObject({ method: 'POST', route: '/accounts/:id/own', status: 299 });
    expect(e.source).toEqual({ ip: '203.0.113.9', user_agent: 'recorder-test/1.0' });
    expect(e.flow).toEqual({ id: 'app-flow' });
    expect(e.trace).toEqual({ id: TRACE_ID, span_id: SPAN_ID });
  });

  test('recorded once the response went, the event has its status', async () => {
    const app = await start(framework);
    const response = await post(`${app.url}/accounts/a/after`);
    expect(response.status).toBe(202);
    // The finish listener runs after the client has its answer: wait for the event.
    for (let i = 0; i < 50 && !app.events.some((x) => x.type === MFA.type); i++) {
      await app.flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    const e = app.events.find((x) => x.type === MFA.type)!;
    expect(e.http).toMatchObject({ method: 'POST', route: '/accounts/:id/after', status: 202 });
  });
});
