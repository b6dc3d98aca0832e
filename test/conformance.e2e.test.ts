// One conformance table: the same bearer-token scenarios through an Express, a Koa and a Fastify
// API, each protected by its framework's usual verifier (express-oauth2-jwt-bearer, koa-jwt,
// @fastify/jwt) and audited by its authtrail adapter with `verify` on. Tokens come from a real
// oidc-provider. The events must be identical apart from `observer.adapter` (and id, time, latency).
import { createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { auth as bearerAuth, requiredScopes } from 'express-oauth2-jwt-bearer';
import Koa from 'koa';
import Router from '@koa/router';
import koaJwt from 'koa-jwt';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import {
  createAuditor,
  memorySink,
  type AuditEvent,
  type AuthtrailOptions,
  type MemorySink,
} from '@authtrail/core';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';
import {
  API_AUDIENCE,
  AUDIT_FINGERPRINT_KEY,
  MACHINE_CLIENT,
} from '@authtrail/testbed/accounts.cjs';
import { startStackProcess, type StackProcess } from './support/stack-process';

type Api = {
  name: 'express' | 'koa' | 'fastify';
  url: string;
  sink: MemorySink;
  flush(): Promise<void>;
  close(): Promise<void>;
};

let stack: StackProcess;
const apis: Api[] = [];
const written: string[] = []; // every byte the three sinks wrote
const tokens = new Set<string>(); // every token sent
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** RFC 6750 challenge every API answers with, whatever its verifier. */
const challenge = (hasToken: boolean) =>
  `Bearer realm="api"${hasToken ? ', error="invalid_token"' : ''}`;
const SCOPE_CHALLENGE = 'Bearer realm="api", error="insufficient_scope", scope="admin:all"';
const hasScope = (claims: { scope?: unknown } | undefined, scope: string) =>
  typeof claims?.scope === 'string' && claims.scope.split(' ').includes(scope);

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

async function startExpress(options: AuthtrailOptions): Promise<Api> {
  const sink = memorySink();
  const auditor = createAuditor({ ...options, sinks: [sink] });
  const app = express();
  app.use(expressAuthtrail({ auditor }));
  const jwt = bearerAuth({
    issuer: stack.issuer,
    audience: API_AUDIENCE,
    jwksUri: `${stack.issuer}/jwks`,
    clockTolerance: 0,
  });
  app.get('/api/items', jwt, requiredScopes('read:items'), (_req, res) => res.json({ ok: true }));
  app.get('/api/admin', jwt, requiredScopes('admin:all'), (_req, res) => res.json({ ok: true }));
  app.use(((err, _req, res, _next) =>
    res
      .status(err.status ?? 500)
      .set(err.headers ?? {})
      .json({ error: err.code })) as ErrorRequestHandler);
  const server = createServer(app);
  const url = await listen(server);
  return {
    name: 'express',
    url,
    sink,
    flush: () => auditor.flush(),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function startKoa(options: AuthtrailOptions, pem: string): Promise<Api> {
  const sink = memorySink();
  const auditor = createAuditor({ ...options, sinks: [sink] });
  const app = new Koa();
  app.use(koaAuthtrail({ auditor }));
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      ctx.status = status;
      if (status === 401) ctx.set('WWW-Authenticate', challenge(Boolean(ctx.get('authorization'))));
      ctx.body = { error: 'unauthorized' };
    }
  });
  const jwt = koaJwt({
    secret: pem,
    issuer: stack.issuer,
    audience: API_AUDIENCE,
    algorithms: ['RS256'],
  });
  const scope =
    (needed: string): Koa.Middleware =>
    async (ctx, next) => {
      if (hasScope(ctx.state.user, needed)) return next();
      ctx.status = 403;
      ctx.set('WWW-Authenticate', SCOPE_CHALLENGE.replace('admin:all', needed));
    };
  const router = new Router();
  router.get('/api/items', jwt, scope('read:items'), (ctx) => void (ctx.body = { ok: true }));
  router.get('/api/admin', jwt, scope('admin:all'), (ctx) => void (ctx.body = { ok: true }));
  app.use(router.routes());
  const s = createServer(app.callback());
  const url = await listen(s);
  return {
    name: 'koa',
    url,
    sink,
    flush: () => auditor.flush(),
    close: () => new Promise((r) => s.close(() => r())),
  };
}

async function startFastify(options: AuthtrailOptions, pem: string): Promise<Api> {
  const sink = memorySink();
  const auditor = createAuditor({ ...options, sinks: [sink] });
  const app: FastifyInstance = Fastify();
  await app.register(fastifyAuthtrail, { auditor });
  await app.register(fastifyJwt, {
    secret: { public: pem },
    verify: { allowedIss: stack.issuer, allowedAud: API_AUDIENCE, algorithms: ['RS256'] },
  });
  const guard =
    (needed: string) =>
    async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      try {
        await request.jwtVerify();
      } catch {
        return reply
          .code(401)
          .header('WWW-Authenticate', challenge(Boolean(request.headers.authorization)))
          .send({ error: 'unauthorized' });
      }
      if (!hasScope(request.user as { scope?: unknown }, needed)) {
        return reply
          .code(403)
          .header('WWW-Authenticate', SCOPE_CHALLENGE.replace('admin:all', needed))
          .send({ error: 'forbidden' });
      }
    };
  app.get('/api/items', { onRequest: guard('read:items') }, async () => ({ ok: true }));
  app.get('/api/admin', { onRequest: guard('admin:all') }, async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { name: 'fastify', url, sink, flush: () => auditor.flush(), close: () => app.close() };
}

beforeAll(async () => {
  stack = await startStackProcess();
  const jwks = (await (await fetch(`${stack.issuer}/jwks`)).json()) as {
    keys: Array<Record<string, unknown>>;
  };
  const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string;
  const options: AuthtrailOptions = {
    keys: { fingerprint: AUDIT_FINGERPRINT_KEY },
    service: 'orders-api',
    verify: { issuer: stack.issuer, audience: API_AUDIENCE, jwksUri: `${stack.issuer}/jwks` },
  };
  apis.push(
    await startExpress(options),
    await startKoa(options, pem),
    await startFastify(options, pem),
  );
}, 30_000);

afterAll(async () => {
  for (const api of apis) await api.close();
  await stack?.stop();
});

async function token(args: Record<string, unknown>): Promise<string> {
  const res = await stack.client<{ access_token: string }>('clientCredentials', args);
  expect(res.ok).toBe(true);
  return res.result.access_token;
}

interface Scenario {
  name: string;
  path?: string;
  authorization: () => Promise<string | undefined>;
  status: number;
  type: string;
  reason?: string;
  verified?: boolean;
}

const scenarios: Scenario[] = [
  {
    name: 'a valid token',
    authorization: async () => `Bearer ${await token({ client: 'machine', scope: 'read:items' })}`,
    status: 200,
    type: 'api.access.success',
    verified: true,
  },
  {
    name: 'a token missing the scope',
    path: '/api/admin',
    authorization: async () => `Bearer ${await token({ client: 'machine', scope: 'read:items' })}`,
    status: 403,
    type: 'api.authz.failure',
    reason: 'insufficient_scope',
    verified: true,
  },
  {
    name: 'an expired token',
    authorization: async () => {
      const t = await token({ client: 'short', scope: 'read:items' });
      await new Promise((r) => setTimeout(r, 1100)); // the short-lived client's tokens live 1 s
      return `Bearer ${t}`;
    },
    status: 401,
    type: 'api.authn.failure',
    reason: 'token_expired',
    verified: false,
  },
  {
    name: 'a token with a bad signature',
    authorization: async () => {
      const [h, p, s] = (await token({ client: 'machine', scope: 'read:items' })).split('.');
      return `Bearer ${h}.${p}.${s!.slice(0, -6)}${s!.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
    },
    status: 401,
    type: 'api.authn.failure',
    reason: 'signature_invalid',
    verified: false,
  },
  {
    name: 'a token for another audience',
    authorization: async () =>
      `Bearer ${await token({ client: 'machine', scope: 'read:items', resource: 'https://other.api.example' })}`,
    status: 401,
    type: 'api.authn.failure',
    reason: 'audience_mismatch',
    verified: false,
  },
  {
    name: 'an alg: none token',
    authorization: async () => {
      const [, p] = (await token({ client: 'machine', scope: 'read:items' })).split('.');
      return `Bearer ${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`;
    },
    status: 401,
    type: 'api.authn.failure',
    reason: 'alg_not_allowed',
    verified: false,
  },
  {
    name: 'a malformed token',
    authorization: async () => 'Bearer eyJhbGciOiJSUzI1NiJ9.not-json!.sig',
    status: 401,
    type: 'api.authn.failure',
    reason: 'token_malformed',
    verified: false,
  },
  {
    name: 'no token',
    authorization: async () => undefined,
    status: 401,
    type: 'api.authn.failure',
    reason: 'token_missing',
  },
];

/** The event without what legitimately differs between two requests or adapters. */
function comparable(e: AuditEvent) {
  const { id: _id, time: _time, observer, http, ...rest } = e;
  const { duration_ms: _d, ...stableHttp } = http!;
  return { ...rest, observer: { ...observer, adapter: 'any', instance: 'any' }, http: stableHttp };
}

test.each(scenarios)(
  '$name gives the same event through Express, Koa and Fastify',
  async (scenario) => {
    const authorization = await scenario.authorization();
    if (authorization) tokens.add(authorization.slice('Bearer '.length));
    const events: AuditEvent[] = [];
    for (const api of apis) {
      api.sink.clear();
      const res = await fetch(`${api.url}${scenario.path ?? '/api/items'}`, {
        headers: authorization ? { authorization } : {},
      });
      expect([api.name, res.status]).toEqual([api.name, scenario.status]);
      await api.flush();
      expect([api.name, api.sink.events.length]).toEqual([api.name, 1]);
      written.push(api.sink.text());
      events.push(api.sink.events[0]!);
    }
    const [first, ...others] = events;
    expect(first).toMatchObject({
      type: scenario.type,
      observer: { role: 'rs', service: 'orders-api' },
      http: { status: scenario.status },
    });
    expect(first!.reason).toBe(scenario.reason);
    expect(first!.oauth?.token?.verified).toBe(scenario.verified);
    expect(events.map((e) => e.observer.adapter)).toEqual(['express', 'koa', 'fastify']);
    for (const other of others) expect(comparable(other)).toEqual(comparable(first!));
  },
);

test('a valid token carries the machine client and its scopes identically everywhere', async () => {
  const authorization = `Bearer ${await token({ client: 'machine', scope: 'read:items' })}`;
  for (const api of apis) {
    api.sink.clear();
    await fetch(`${api.url}/api/items`, { headers: { authorization } });
    await api.flush();
    expect(api.sink.events[0]).toMatchObject({
      client: { id: MACHINE_CLIENT.id },
      oauth: {
        issuer: stack.issuer,
        scope: ['read:items'],
        audience: [API_AUDIENCE],
        token: { verified: true, alg: 'RS256' },
      },
      http: { route: '/api/items', path: '/api/items' },
    });
  }
});

test('no token sent in the table appears in any byte the three sinks wrote', () => {
  expect(tokens.size).toBe(7);
  const text = written.join('');
  expect(text.length).toBeGreaterThan(5000);
  for (const t of tokens) {
    expect(text).not.toContain(t);
    for (const part of t.split('.')) if (part.length >= 16) expect(text).not.toContain(part);
  }
});
