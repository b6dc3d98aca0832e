// Secrets in URL paths, through real Express, Koa and Fastify servers on 127.0.0.1:0. Reset and
// invite links carry tokens in their paths, servlet-style clients add `;jsessionid=...`, broken
// clients send `#access_token=...` in the request line, REST APIs put e-mail addresses there. For
// each shape this checks what `http.path` and `http.route` hold, that no secret is in any byte
// the sink wrote, and that the jest kit's failure listing prints none either.
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import type { AuditEvent } from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';
import { authtrailMatchers, createTestAuditor, type TestAuditor } from '@authtrail/jest';

expect.extend(authtrailMatchers);

const R = '[redacted]';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const random = (n: number) => randomBytes(n).toString('base64url');
// Fresh for every run, so none can appear in a line by chance.
const SIGNATURE = random(32);
const JWT = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'u1', nonce: random(9) })}.${SIGNATURE}`;
const HEX = randomBytes(16).toString('hex');
const SESSION_ID = randomBytes(16).toString('hex').toUpperCase();
const FRAGMENT_TOKEN = random(24);
const QUERY_NAME = random(21); // 28 characters
const EMAIL = `alice.${randomBytes(3).toString('hex')}@example.com`;
const ENCODED_JWT = JWT.replace(/[eJ.]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const SECRETS = [JWT, SIGNATURE, HEX, SESSION_ID, FRAGMENT_TOKEN, QUERY_NAME, EMAIL, ENCODED_JWT];

type Adapter = 'express' | 'koa' | 'fastify';
/** Express's mount prefix holds the values received; Koa's and Fastify's are templates. */
const prefix = (adapter: Adapter, tenant: string) =>
  adapter === 'express' ? `/tenants/${tenant}` : '/tenants/:tenant';

interface Case {
  name: string;
  target: string;
  status: number;
  http: (adapter: Adapter) => { path: string; route?: string; query?: string };
}

const CASES: Case[] = [
  {
    name: 'a token in a matched route logs the route template as the path',
    target: `/reset-password/${JWT}`,
    status: 200,
    http: () => ({ path: '/reset-password/:token', route: '/reset-password/:token' }),
  },
  {
    name: 'a route of a router mounted under a prefix logs the whole template',
    target: `/tenants/acme/invite/${HEX}/accept`,
    status: 200,
    http: (a) => {
      const route = `${prefix(a, 'acme')}/invite/:token/accept`;
      return { path: route, route };
    },
  },
  {
    name: 'a mount prefix holding a token is redacted',
    target: `/tenants/${HEX}/invite/x/accept`,
    status: 200,
    http: (a) => {
      const route = `${prefix(a, R)}/invite/:token/accept`;
      return { path: route, route };
    },
  },
  {
    name: 'a route whose handler failed under a prefix still logs its whole template',
    target: `/tenants/acme/fail/${HEX}`,
    status: 500,
    http: (a) => {
      const route = `${prefix(a, 'acme')}/fail/:token`;
      return { path: route, route };
    },
  },
  {
    name: 'an unmatched path holding a JWT has that segment redacted',
    target: `/nope/${JWT}/accept`,
    status: 404,
    http: () => ({ path: `/nope/${R}/accept` }),
  },
  {
    name: 'a percent-encoded JWT is judged decoded',
    target: `/nope/${ENCODED_JWT}`,
    status: 404,
    http: () => ({ path: `/nope/${R}` }),
  },
  {
    name: 'a matrix parameter is dropped from ;',
    target: `/nope/app;jsessionid=${SESSION_ID}`,
    status: 404,
    http: () => ({ path: `/nope/app;${R}` }),
  },
  {
    name: 'a fragment in the request line is dropped whole, with what follows it',
    target: `/nope/cb#access_token=${FRAGMENT_TOKEN}&state=x?a=1`,
    status: 404,
    http: () => ({ path: '/nope/cb' }),
  },
  {
    name: 'a query parameter name that is a token is redacted',
    target: `/nope?${QUERY_NAME}&redirect_uri=x`,
    status: 404,
    http: () => ({ path: '/nope', query: `${R}=${R}&redirect_uri=${R}` }),
  },
  {
    name: 'an e-mail address in a path is redacted when pseudonymising',
    target: `/users/${EMAIL}/orders`,
    status: 404,
    http: () => ({ path: `/users/${R}/orders` }),
  },
];

function options() {
  return {
    keys: {
      fingerprint: 'path-secrets-fingerprint-key-0123456789',
      pseudonym: 'path-secrets-pseudonym-key-0123456789',
    },
    pseudonymize: true,
    service: 'paths',
    delivery: { handleSignals: false },
  };
}

const failing = () => {
  throw new Error('handler failed');
};

async function startExpress(audit: TestAuditor) {
  const app = express();
  app.use(expressAuthtrail({ auditor: audit.auditor }));
  app.get('/reset-password/:token', (_req, res) => void res.send('ok'));
  const tenants = express.Router({ mergeParams: true });
  tenants.get('/invite/:token/accept', (_req, res) => void res.send('ok'));
  tenants.get('/fail/:token', failing);
  app.use('/tenants/:tenant', tenants);
  app.use((_req, res) => void res.status(404).send('not found'));
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows error handlers by arity
  app.use(((_err, _req, res, _next) => void res.status(500).send('error')) as ErrorRequestHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function startKoa(audit: TestAuditor) {
  const app = new Koa();
  app.silent = true;
  app.use(koaAuthtrail({ auditor: audit.auditor }));
  const root = new Router();
  root.get('/reset-password/:token', (ctx) => void (ctx.body = 'ok'));
  const tenants = new Router({ prefix: '/tenants/:tenant' });
  tenants.get('/invite/:token/accept', (ctx) => void (ctx.body = 'ok'));
  tenants.get('/fail/:token', failing);
  app.use(root.routes()).use(tenants.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function startFastify(audit: TestAuditor) {
  const app = Fastify({ routerOptions: { maxParamLength: 4096 } });
  await app.register(fastifyAuthtrail, { auditor: audit.auditor });
  app.get('/reset-password/:token', async () => 'ok');
  await app.register(
    async (tenants) => {
      tenants.get('/invite/:token/accept', async () => 'ok');
      tenants.get('/fail/:token', async () => failing());
    },
    { prefix: '/tenants/:tenant' },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

/** node:http sends the target as given: `;`, `#` and escapes included. */
function get(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: target,
        headers: { authorization: 'Bearer opaque-access-token' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const START = { express: startExpress, koa: startKoa, fastify: startFastify };

describe.each(['express', 'koa', 'fastify'] as const)('paths through %s', (adapter) => {
  const audit = createTestAuditor(options());
  let server: { port: number; close(): Promise<void> };
  const events = new Map<string, AuditEvent>();

  beforeAll(async () => {
    server = await START[adapter](audit);
    for (const c of CASES) {
      audit.clear();
      const status = await get(server.port, c.target);
      expect(status).toBe(c.status);
      await audit.flush();
      expect(audit.events).toHaveLength(1);
      events.set(c.name, audit.events[0]!);
    }
  });
  afterAll(async () => {
    await server.close();
    await audit.close();
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { path, route, query } = c.http(adapter);
    expect(events.get(c.name)!.http).toEqual(
      expect.objectContaining({ path, route, query, status: c.status }),
    );
  });

  test('no secret sent in a path or a query name is in any byte written', async () => {
    audit.clear();
    await Promise.all(CASES.map((c) => get(server.port, c.target)));
    await audit.flush();
    const lines = audit.text().trim().split('\n');
    expect(lines).toHaveLength(CASES.length);
    const bytes = Buffer.from(audit.text());
    for (const secret of SECRETS) expect(bytes.includes(secret)).toBe(false);
    for (const line of lines) JSON.parse(line); // every line is whole JSON
    await expect(audit).toHaveNoSecrets(SECRETS);
  });

  test("the jest kit's failure listing prints no secret from a path", async () => {
    audit.clear();
    await Promise.all(CASES.map((c) => get(server.port, c.target)));
    let message = '';
    try {
      await expect(audit).toHaveAuditEvent('api.authn.failure', { http: { path: '/nowhere' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`Recorded ${CASES.length} events`);
    expect(message).toContain('/nope/');
    for (const secret of SECRETS) expect(message).not.toContain(secret);
  });
});
