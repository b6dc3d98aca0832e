import {
  afterVerdict,
  attachAdapter,
  clientIp,
  mountedRoute,
  observeRequest,
  since,
  watchRpRoute,
  whenAdmitted,
  ERROR_KEY,
  type AdapterOptions,
  type AuditRecorder,
  type Claims,
} from '@authtrail/core';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one between apps. */
export type ExpressAuthtrailOptions = AdapterOptions;

declare module 'express-serve-static-core' {
  interface Request {
    /** Records what only the app knows: `req.audit.record({ type: 'authn.mfa.success', ... })`. */
    audit: AuditRecorder;
  }
}

/** What authtrail reads from the request as other middleware left it. */
interface DecoratedRequest {
  [ERROR_KEY]?: unknown;
  auth?: { payload?: Claims; header?: Claims };
  user?: unknown; // Passport's
}

/**
 * Audits an Express app: one event per login start, callback, logout and bearer-token request.
 * Mount it before express-openid-connect's `auth()` and your routes.
 * @example
 * app.use(authtrail());
 * app.use(auth({ ... }));
 * // routes ...
 * app.use(authtrail.errors());
 */
function create(options: ExpressAuthtrailOptions = {}): RequestHandler {
  const { handle } = attachAdapter('express', options);
  const { Recorder } = handle;

  return function authtrailMiddleware(req, res, next) {
    const startTime = Date.now();
    const t0 = performance.now();
    const kind = handle.routeKind(req.originalUrl);
    // Logouts clear the session before the redirect, callbacks consume the login transaction.
    watchRpRoute(req, kind);
    req.audit = new Recorder(req); // one small object: context is read only when the app records
    res.on('close', () => {
      const decorated = req as unknown as DecoratedRequest;
      const auth = decorated.auth;
      observeRequest(handle, req, kind, decorated.user, {
        startTime,
        durationMs: since(t0),
        method: req.method,
        url: req.originalUrl,
        route: mountedRoute(req.originalUrl, req.route?.path, req.baseUrl),
        status: res.statusCode,
        aborted: !res.writableFinished,
        headers: req.headers,
        response: res,
        ip: clientIp(req.app?.get('trust proxy'), req),
        body: kind === undefined ? undefined : req.body,
        error: decorated[ERROR_KEY],
        tokenClaims: auth?.payload,
        tokenHeader: auth?.header,
        request: req,
      });
    });
    // Enforcement on the sign-in form: asked before the route's body parser and password check.
    const guard = kind !== undefined ? handle.guard : undefined;
    if (guard === undefined) return whenAdmitted(handle, next);
    const ip = clientIp(req.app?.get('trust proxy'), req);
    const attempt = { method: req.method, url: req.originalUrl, ip, body: req.body, stream: req };
    whenAdmitted(handle, () => afterVerdict(guard(req, attempt), next, res));
  };
}

/**
 * Error companion: mount after your routes so callback failures carry their exact reason
 * (`state_mismatch`, `idp_error` ...). It only notes the error and passes it on.
 */
function errors(): ErrorRequestHandler {
  return function authtrailErrors(err, req, _res, next) {
    (req as unknown as DecoratedRequest)[ERROR_KEY] = err;
    next(err);
  };
}

export const authtrail: typeof create & { errors: typeof errors } = Object.assign(create, {
  errors,
});
