import {
  createAuditor,
  type AuditRecorder,
  type Auditor,
  type AuthtrailOptions,
  type Claims,
} from '@authtrail/core';
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
    /** Records what only the app knows: `request.audit.record({ type: 'authn.mfa.success', ... })`. */
    audit: AuditRecorder;
  }
}

const STATE = Symbol.for('authtrail.state');
// The label of the events an auditor authtrail() created records by itself (see core's auditor).
const OWN_ADAPTER: symbol = Symbol.for('authtrail.adapter');

/**
 * What authtrail keeps per request, in one object under one request decorator (Fastify copies every
 * non-function decorator onto each new request, including requests of routes authtrail never sees).
 */
interface State {
  start: number;
  /** `performance.now()` at arrival. */
  t0: number;
  error: unknown;
  reply: FastifyReply | undefined;
  /** The route template, marked by a route hook (request.routeOptions builds an object per call). */
  route: string | undefined;
  observed: boolean;
}

interface Marks {
  [STATE]: State | null;
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
  const owned = shared ?? createAuditor({ ...rest, [OWN_ADAPTER]: 'fastify' });
  const auditor = owned.attach('fastify');
  const recorder = auditor.recorder;

  // A getter lives on the request prototype: nothing to copy per request.
  app.decorateRequest('audit', { getter: () => recorder });
  app.decorateRequest(STATE, null);
  // Routes added after this plugin carry their template to the request for free; for earlier ones
  // the request's routeOptions getter is the fallback.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const mark: onRequestHookHandler = (request, _reply, done) => {
      const state = (request as unknown as Marks)[STATE];
      if (state !== null) state.route = url;
      done();
    };
    route.onRequest = route.onRequest ? [mark].concat(route.onRequest) : mark;
  });

  function observe(
    request: FastifyRequest,
    reply: FastifyReply | undefined,
    aborted: boolean,
  ): void {
    const r = request as unknown as Marks;
    // No state: an earlier onRequest hook answered before ours ran.
    const state = r[STATE];
    if (state?.observed) return; // an aborted request whose response finished later
    if (state) state.observed = true;
    else r[STATE] = { start: 0, t0: 0, error: undefined, reply, route: undefined, observed: true };
    const url = request.url;
    const user = r.user;
    auditor.observe({
      startTime: state ? state.start : Date.now(),
      durationMs: state ? performance.now() - state.t0 : 0,
      method: request.method,
      url,
      route: state?.route ?? request.routeOptions.url,
      status: reply === undefined ? 0 : reply.statusCode,
      aborted,
      headers: request.headers,
      // The Fastify reply, not reply.raw: headers set with reply.header() reach the raw response
      // through writeHead() only, where raw.getHeader() does not see them.
      response: reply,
      ip: request.ip,
      body: auditor.routeKind(url) === undefined ? undefined : request.body,
      error: state?.error ?? undefined,
      tokenClaims: isPlainObject(user) ? user : undefined,
    });
  }

  app.addHook('onRequest', (request, reply, done) => {
    (request as unknown as Marks)[STATE] = {
      start: Date.now(),
      t0: performance.now(),
      error: undefined,
      reply,
      route: undefined,
      observed: false,
    };
    // overflow: 'block' with a full queue: the request waits here for room.
    const wait = auditor.admit();
    if (wait) void wait.then(() => done());
    else done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    const state = (request as unknown as Marks)[STATE];
    if (state !== null) state.error = error;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply, false);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    observe(request, (request as unknown as Marks)[STATE]?.reply, true);
    done();
  });
  app.addHook('onClose', () => (shared ? owned.flush() : owned.close()));
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
