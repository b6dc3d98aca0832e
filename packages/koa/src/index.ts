import {
  createAuditor,
  type AuditRecorder,
  type Auditor,
  type AuthtrailOptions,
  type Claims,
} from '@authtrail/core';
import type { Context, Middleware } from 'koa';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one. */
export interface KoaAuthtrailOptions extends AuthtrailOptions {
  /** Use this auditor instead of creating one (the other options are then ignored). */
  auditor?: Auditor;
}

declare module 'koa' {
  interface DefaultContext {
    /** Records what only the app knows: `ctx.audit.record({ type: 'authn.mfa_verify.success', ... })`. */
    audit: AuditRecorder;
  }
}

const ERROR = Symbol.for('authtrail.error');
// The label of the events an auditor authtrail() created records by itself (see core's auditor).
const OWN_ADAPTER: symbol = Symbol.for('authtrail.adapter');
const OP_EVENTS = [
  'authorization.error',
  'grant.error',
  'end_session.error',
  'revocation.error',
  'introspection.error',
  'userinfo.error',
  'server_error',
];

/** What authtrail reads from the context as other middleware left it. */
interface Seen {
  [ERROR]?: unknown;
  oidc?: { provider?: { on(event: string, fn: (ctx: Seen, err: unknown) => void): unknown } };
  state: { user?: unknown };
  _matchedRoute?: unknown;
  routePath?: unknown;
  request: { body?: unknown };
}

/**
 * Audits a Koa app, or a node-oidc-provider instance with `routes: 'oidc-provider'`.
 * @example
 * app.use(authtrail());                                       // a Koa API or relying party
 * provider.use(authtrail({ routes: 'oidc-provider' }));       // an OpenID Provider
 */
export function authtrail(options: KoaAuthtrailOptions = {}): Middleware {
  const { auditor: shared, ...rest } = options;
  const auditor = (shared ?? createAuditor({ ...rest, [OWN_ADAPTER]: 'koa' })).attach('koa');
  const { provider, recorder } = auditor;
  // oidc-provider renders some errors itself; its events carry the error the HTTP view lacks.
  const listening = new WeakSet<object>();
  const noteError = (ctx: Seen, err: unknown) => void (ctx[ERROR] = err);

  return async function authtrailKoa(ctx: Context, next) {
    const startTime = Date.now();
    const t0 = performance.now();
    const seen = ctx as unknown as Seen;
    ctx.audit = recorder;
    // Registered before next(): Koa writes the response after the middleware chain unwinds.
    ctx.res.on('close', () => {
      const kind = provider ? undefined : auditor.routeKind(ctx.originalUrl);
      const user = seen.state.user;
      auditor.observe({
        startTime,
        durationMs: performance.now() - t0,
        method: ctx.method,
        url: ctx.originalUrl,
        route:
          typeof seen._matchedRoute === 'string'
            ? seen._matchedRoute
            : (seen.routePath as string | undefined),
        status: ctx.res.statusCode,
        aborted: !ctx.res.writableFinished,
        headers: ctx.req.headers,
        response: ctx.res,
        // ctx.ip reads the proxy header first (~0.7 µs a request); without app.proxy it is the socket's.
        ip: ctx.app.proxy ? ctx.ip : (ctx.socket.remoteAddress ?? ctx.ip),
        body: kind === undefined ? undefined : seen.request.body,
        error: seen[ERROR],
        tokenClaims: user !== null && typeof user === 'object' ? (user as Claims) : undefined,
        oidc: provider ? seen.oidc : undefined,
        responseBody: provider ? ctx.body : undefined,
      });
    });
    // overflow: 'block' with a full queue: the request waits here for room.
    const wait = auditor.admit();
    if (wait) await wait;
    try {
      await next();
    } catch (err) {
      seen[ERROR] = err;
      throw err;
    } finally {
      const op = provider ? seen.oidc?.provider : undefined;
      if (op && !listening.has(op)) {
        listening.add(op);
        for (const event of OP_EVENTS) op.on(event, noteError);
      }
    }
  };
}
