import {
  answerLocked,
  attachAdapter,
  clientIp,
  noteProviderErrors,
  observeRequest,
  since,
  watchRpRoute,
  ERROR_KEY,
  type AdapterOptions,
  type AuditRecorder,
  type Claims,
  type ErrorEmitter,
  type SignInAttempt,
} from '@authtrail/core';
import type { Context, Middleware } from 'koa';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one. */
export type KoaAuthtrailOptions = AdapterOptions;

declare module 'koa' {
  interface DefaultContext {
    /** Records what only the app knows: `ctx.audit.record({ type: 'authn.mfa_verify.success', ... })`. */
    audit: AuditRecorder;
  }
}

/** What authtrail reads from the context as other middleware left it. */
interface DecoratedContext {
  [ERROR_KEY]?: unknown;
  oidc?: { provider?: ErrorEmitter };
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
  const auditor = attachAdapter('koa', options).handle;
  const { provider, Recorder } = auditor;

  return async function authtrailKoa(ctx: Context, next) {
    const startTime = Date.now();
    const t0 = performance.now();
    const decorated = ctx as unknown as DecoratedContext;
    ctx.audit = new Recorder(ctx); // one small object: context is read only when the app records
    const kind = auditor.routeKind(ctx.originalUrl); // a provider's sign-in form too
    // Logouts clear koa-passport's ctx.state.user, callbacks consume the session's transaction.
    if (!provider) watchRpRoute(ctx, kind, decorated.state);
    // Registered before next(): Koa writes the response after the middleware chain unwinds.
    ctx.res.on('close', () => {
      const user = decorated.state.user;
      // ctx.state.user: koa-passport's session user on the RP's routes, koa-jwt's claims elsewhere.
      observeRequest(auditor, provider ? undefined : ctx, kind, user, {
        startTime,
        durationMs: since(t0),
        method: ctx.method,
        url: ctx.originalUrl,
        route:
          typeof decorated._matchedRoute === 'string'
            ? decorated._matchedRoute
            : (decorated.routePath as string | undefined),
        status: ctx.res.statusCode,
        aborted: !ctx.res.writableFinished,
        headers: ctx.req.headers,
        response: ctx.res,
        ip: clientIp(ctx.app.proxy, ctx),
        body: kind === undefined ? undefined : decorated.request.body,
        error: decorated[ERROR_KEY],
        tokenClaims: user !== null && typeof user === 'object' ? (user as Claims) : undefined,
        request: ctx,
        oidc: provider ? decorated.oidc : undefined,
        responseBody: provider ? ctx.body : undefined,
      });
    });
    // whenAdmitted() without a callback: overflow 'block' with a full queue waits here for room.
    const wait = auditor.admit();
    if (wait) await wait;
    // The provider is this Koa app (oidc-provider >= 8): listened to before next(), even its first
    // request's errors are seen. ctx.oidc.provider, below, serves where it is not.
    if (provider) noteProviderErrors(ctx.app);
    // Enforcement on the sign-in form: asked before the body parser and the password check.
    const guard = kind !== undefined ? auditor.guard : undefined;
    const locked = guard && (await guard(ctx, signInAttempt(ctx, decorated)));
    if (locked) return void ((ctx.respond = false), answerLocked(ctx.res, locked));
    try {
      await next();
    } catch (err) {
      decorated[ERROR_KEY] = err;
      throw err;
    } finally {
      // oidc-provider renders some errors itself; its events carry the error the HTTP view lacks.
      if (provider) noteProviderErrors(decorated.oidc?.provider);
    }
  };
}

/** A sign-in post as it arrives; a body authtrail reads goes where Koa's body parsers look first. */
function signInAttempt(ctx: Context, decorated: DecoratedContext): SignInAttempt {
  const { request } = decorated;
  const [method, url, ip] = [ctx.method, ctx.originalUrl, clientIp(ctx.app.proxy, ctx)];
  return { method, url, ip, body: request.body, stream: ctx.req, keep: (b) => (request.body = b) };
}
