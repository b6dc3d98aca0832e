import {
  arrival,
  attachAdapter,
  lockedAnswer,
  markRoute,
  observeRequest,
  plainClaims,
  since,
  watchRpRoute,
  whenAdmitted,
  STATE_KEY,
} from '@authtrail/core';
import type { AdapterOptions, AuditRecorder, RequestState } from '@authtrail/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one between apps. */
export type FastifyAuthtrailOptions = AdapterOptions;

declare module 'fastify' {
  interface FastifyRequest {
    /** Records what only the app knows: `request.audit.record({ type: 'authn.mfa.success', ... })`. */
    audit: AuditRecorder;
  }
}

// authtrail's state, in one object under one request decorator (Fastify copies each non-function
// decorator onto every new request); `user`: @fastify/jwt's claims, or @fastify/passport's user.
type DecoratedRequest = { [STATE_KEY]: RequestState<FastifyReply> | null; user?: unknown };
const decorated = (request: FastifyRequest) => request as unknown as DecoratedRequest;

const plugin: FastifyPluginAsync<FastifyAuthtrailOptions> = async (app, options) => {
  const { handle: auditor, release } = attachAdapter('fastify', options);

  // A getter lives on the request prototype: nothing per request until the app reads it.
  app.decorateRequest('audit', { getter: auditor.recorderGetter });
  app.decorateRequest(STATE_KEY, null);
  // Routes added after this plugin carry their template to the request for free (routeOptions
  // builds an object per call); for earlier ones the request's routeOptions getter is the fallback.
  app.addHook('onRoute', markRoute);

  function observe(request: FastifyRequest, reply: FastifyReply | undefined, aborted: boolean) {
    const r = decorated(request);
    // None: an onRequest hook before ours answered.
    const state = (r[STATE_KEY] ??= arrival(reply, auditor.routeKind(request.url)));
    if (state.observed) return; // an aborted request whose response finished later
    state.observed = true;
    observeRequest(auditor, request, state.kind, r.user, {
      startTime: state.startTime,
      durationMs: since(state.t0),
      method: request.method,
      url: request.url,
      route: state.route ?? request.routeOptions.url,
      status: reply === undefined ? 0 : reply.statusCode,
      aborted,
      headers: request.headers,
      // The Fastify reply, not reply.raw: headers set with reply.header() reach the raw response
      // through writeHead() only, where raw.getHeader() does not see them.
      response: reply,
      ip: request.ip, // Fastify's getter reads the socket unless trustProxy is set
      body: state.kind === undefined ? undefined : request.body,
      error: state.error ?? undefined,
      tokenClaims: plainClaims(r.user),
      request, // for the `user` option
    });
  }

  app.addHook('onRequest', (request, reply, done) => {
    const kind = auditor.routeKind(request.url);
    watchRpRoute(request, kind); // logouts clear the session, callbacks consume the transaction
    decorated(request)[STATE_KEY] = arrival(reply, kind);
    whenAdmitted(auditor, done);
  });
  // Enforcement on the sign-in form, when a sink guards it: Fastify has parsed the body by now.
  const guard = auditor.guard;
  if (guard !== undefined)
    app.addHook('preHandler', (request, reply, done) => {
      const { method, url, ip, body = null } = request;
      const onForm = decorated(request)[STATE_KEY]?.kind !== undefined;
      const seconds = onForm ? (guard(request, { method, url, ip, body }) as number) : 0;
      if (seconds === 0) return done();
      const answer = lockedAnswer(seconds);
      void reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
  app.addHook('onError', (request, _reply, error, done) => {
    const state = decorated(request)[STATE_KEY];
    if (state !== null) state.error = error;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply, false);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    observe(request, decorated(request)[STATE_KEY]?.reply, true);
    done();
  });
  app.addHook('onClose', release);
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
