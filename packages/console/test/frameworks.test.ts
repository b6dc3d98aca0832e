// The one handler mounted three ways, over real HTTP: Express (which strips its mount path), Koa
// and Fastify (which hand over the raw request; the handler strips `basePath`), and a bare server.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import Koa from 'koa';
import { consoleHandler, type ConsoleHandler } from '@authtrail/console';
import type { Store } from '@authtrail/store';
import {
  RANGE,
  SECURITY_HEADERS,
  accessAuditor,
  call,
  dropSchema,
  openStore,
  portOf,
  schemaName,
  seed,
  sessionCookie,
} from './support.js';

const SCHEMA = schemaName('console_fw');
let store: Store;
const access = accessAuditor();

beforeAll(async () => {
  store = openStore(SCHEMA);
  await seed(store);
}, 60_000);

afterAll(async () => {
  await access.auditor.close();
  await store?.close();
  await dropSchema(SCHEMA);
});

interface Mounted {
  port: number;
  close(): Promise<void>;
}

/** Each framework's recipe, as docs/console.md gives it. */
const MOUNTS: Record<string, (handler: ConsoleHandler) => Promise<Mounted>> = {
  async express(handler) {
    const app = express();
    app.use('/audit', handler);
    app.get('/', (_req, res) => void res.send('the app'));
    const server = app.listen(0, '127.0.0.1');
    return listening(server);
  },
  async koa(handler) {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path !== '/audit' && !ctx.path.startsWith('/audit/')) return next();
      ctx.respond = false;
      handler(ctx.req, ctx.res);
    });
    app.use((ctx) => {
      ctx.body = 'the app';
    });
    return listening(app.listen(0, '127.0.0.1'));
  },
  async fastify(handler) {
    const app = Fastify();
    const serve = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    };
    app.all('/audit', serve);
    app.all('/audit/*', serve);
    app.get('/', async () => 'the app');
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: portOf(app.server), close: () => app.close() };
  },
};

function listening(server: Server): Promise<Mounted> {
  return new Promise((resolve) =>
    server.once('listening', () =>
      resolve({
        port: portOf(server),
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

describe.each(Object.keys(MOUNTS))('mounted in %s under /audit', (framework) => {
  test('signs in with the token, answers the API under the path, checks CSRF, sets the headers; the app keeps its own routes', async () => {
    const token = randomBytes(32).toString('base64url');
    const handler = consoleHandler({
      store,
      auditor: access.auditor,
      adminToken: token,
      // Express strips its mount path itself.
      basePath: framework === 'express' ? undefined : '/audit',
    });
    const mounted = await MOUNTS[framework]!(handler);
    try {
      const login = await call(mounted.port, 'GET', `/audit/login?token=${token}`);
      expect(login.status).toBe(303);
      expect(login.headers.location).toBe('/audit/');
      expect(login.headers['set-cookie']![0]).toContain('; Path=/audit;');
      const cookie = sessionCookie(login);
      const landing = await call(mounted.port, 'GET', '/audit/', { cookie });
      expect(landing.status).toBe(200);

      const me = await call(mounted.port, 'GET', '/audit/api/me', { cookie });
      expect(me.json.user).toBe('admin');
      const search = await call(mounted.port, 'GET', `/audit/api/search?${RANGE}&limit=3`, {
        cookie,
      });
      expect(search.status).toBe(200);
      expect(search.json.events).toHaveLength(3);
      for (const [h, value] of Object.entries(SECURITY_HEADERS))
        expect(search.headers[h]).toBe(value);
      expect(search.headers['content-type']).toBe('application/json; charset=utf-8');

      const refused = await call(mounted.port, 'POST', '/audit/api/logout', {
        cookie,
        'sec-fetch-site': 'cross-site',
        'x-csrf-token': me.json.csrfToken,
      });
      expect(refused.status).toBe(403);
      const out = await call(mounted.port, 'POST', '/audit/api/logout', {
        cookie,
        'sec-fetch-site': 'same-origin',
        'x-csrf-token': me.json.csrfToken,
      });
      expect(out.status).toBe(200);
      expect((await call(mounted.port, 'GET', '/audit/api/me', { cookie })).status).toBe(401);

      const app = await call(mounted.port, 'GET', '/');
      expect([app.status, app.text]).toEqual([200, 'the app']);
    } finally {
      handler.close();
      await mounted.close();
    }
  });
});

test('on a bare server with basePath, a path outside it is 404 (no next to call)', async () => {
  const handler = consoleHandler({ store, auditor: access.auditor, basePath: '/audit/' });
  const server = createServer((req, res) => handler(req, res));
  const mounted = await listening(server.listen(0, '127.0.0.1'));
  try {
    const outside = await call(mounted.port, 'GET', '/other');
    expect([outside.status, outside.json.error.code]).toEqual([404, 'not_found']);
    expect(outside.headers['content-security-policy']).toBe(
      SECURITY_HEADERS['content-security-policy'],
    );
    expect((await call(mounted.port, 'GET', '/audit/api/me')).status).toBe(401);
  } finally {
    handler.close();
    await mounted.close();
  }
});
