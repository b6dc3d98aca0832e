import { createAuditor, type Auditor, type AuthtrailOptions, type Claims } from '@authtrail/core';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one between apps. */
export interface FastifyAuthtrailOptions extends AuthtrailOptions {
  /** Use this auditor instead of creating one (the other options are then ignored). */
  auditor?: Auditor;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The auditor of this request: `request.audit.record({ type: 'authn.mfa.success', ... })`. */
    audit: Auditor;
  }
}

const START = Symbol.for('authtrail.start');
const T0 = Symbol.for('authtrail.t0');
const ERROR = Symbol.for('authtrail.error');
const REPLY = Symbol.for('authtrail.reply');
const ROUTE = Symbol.for('authtrail.route');

/** What authtrail keeps on the request (request decorators: no per-request shape change). */
interface Marks {
  [START]: number;
  /** `performance.now()` at arrival; 0 before `onRequest`, -1 once observed. */
  [T0]: number;
  [ERROR]: unknown;
  [REPLY]: FastifyReply | null;
  /** The route template, marked by a route hook (request.routeOptions builds an object per call). */
  [ROUTE]: string | null;
  /** Set by @fastify/jwt's `request.jwtVerify()`: the verified payload. */
  user?: unknown;
}

const isPlainObject = (v: unknown): v is Claims => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

const plugin: FastifyPluginAsync<FastifyAuthtrailOptions> = async (app, options) => {
  const { auditor: shared, ...rest } = options;
  const auditor = shared ?? createAuditor(rest, 'fastify');

  app.decorateRequest('audit', null, []); // set in onRequest; typed Auditor for handlers
  app.decorateRequest(START, 0);
  app.decorateRequest(T0, 0);
  app.decorateRequest(ERROR, null);
  app.decorateRequest(REPLY, null);
  app.decorateRequest(ROUTE, null);
  // Routes added after this plugin carry their template to the request for free; for earlier ones
  // the request's routeOptions getter is the fallback.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const mark: onRequestHookHandler = (request, _reply, done) => {
      (request as unknown as Marks)[ROUTE] = url;
      done();
    };
    route.onRequest = route.onRequest ? [mark].concat(route.onRequest) : mark;
  });

  function observe(request: FastifyRequest, reply: FastifyReply | null, aborted: boolean): void {
    const r = request as unknown as Marks;
    const t0 = r[T0];
    if (t0 < 0) return; // already observed: an aborted request whose response finished later
    r[T0] = -1;
    const url = request.url;
    const user = r.user;
    auditor.observe({
      // t0 is 0 when an earlier onRequest hook answered before ours ran.
      startTime: t0 === 0 ? Date.now() : r[START],
      durationMs: t0 === 0 ? 0 : performance.now() - t0,
      method: request.method,
      url,
      route: r[ROUTE] ?? request.routeOptions.url,
      status: reply === null ? 0 : reply.statusCode,
      aborted,
      headers: request.headers,
      // The Fastify reply, not reply.raw: headers set with reply.header() reach the raw response
      // through writeHead() only, where raw.getHeader() does not see them.
      response: reply ?? undefined,
      ip: request.ip,
      body: auditor.routeKind(url) === undefined ? undefined : request.body,
      error: r[ERROR] ?? undefined,
      tokenClaims: isPlainObject(user) ? user : undefined,
    });
  }

  app.addHook('onRequest', (request, reply, done) => {
    const r = request as unknown as Marks;
    r[START] = Date.now();
    r[T0] = performance.now();
    r[REPLY] = reply;
    request.audit = auditor;
    // overflow: 'block' with a full queue: the request waits here for room.
    const wait = auditor.admit();
    if (wait) void wait.then(() => done());
    else done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    (request as unknown as Marks)[ERROR] = error;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply, false);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    observe(request, (request as unknown as Marks)[REPLY], true);
    done();
  });
  app.addHook('onClose', () => (shared ? auditor.flush() : auditor.close()));
};

/**
 * Audits a Fastify app: one event per login start, callback, logout and bearer-token request.
 * Register it before your auth hooks and routes; inside an encapsulated plugin it audits only that
 * plugin's routes.
 * @example
 * await app.register(authtrail, { service: 'orders-api' });
 * app.get('/orders/:id', async (request) => { await request.jwtVerify(); ... });
 */
export const authtrail = fp(plugin, { fastify: '5.x', name: '@authtrail/fastify' });
