import {
  createAuditor,
  type AuditRecorder,
  type Auditor,
  type AuthtrailOptions,
  type Claims,
} from '@authtrail/core';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';

/** Options of {@link authtrail}: every core option, or an `auditor` to share one between apps. */
export interface ExpressAuthtrailOptions extends AuthtrailOptions {
  /** Use this auditor instead of creating one (the other options are then ignored). */
  auditor?: Auditor;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Records what only the app knows: `req.audit.record({ type: 'authn.mfa.success', ... })`. */
    audit: AuditRecorder;
  }
}

const ERROR = Symbol.for('authtrail.error');
// The label of the events an auditor authtrail() created records by itself (see core's auditor).
const OWN_ADAPTER: symbol = Symbol.for('authtrail.adapter');
const SESSION = Symbol.for('authtrail.session');

/** What authtrail reads from the request as other middleware left it. */
interface Seen {
  [ERROR]?: unknown;
  [SESSION]?: { user?: Claims; idTokenClaims?: Claims };
  oidc?: { user?: Claims; idTokenClaims?: Claims };
  auth?: { payload?: Claims; header?: Claims };
  openidState?: unknown;
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
  const { auditor: shared, ...rest } = options;
  const auditor = (shared ?? createAuditor({ ...rest, [OWN_ADAPTER]: 'express' })).attach(
    'express',
  );
  const recorder = auditor.recorder;

  return function authtrailMiddleware(req, res, next) {
    const startTime = Date.now();
    const t0 = performance.now();
    const kind = auditor.routeKind(req.originalUrl);
    // express-openid-connect clears the session before the logout redirect: keep who it was.
    if (kind === 'logout') keepSessionOnAssign(req);
    req.audit = recorder;
    res.on('close', () => {
      const seen = req as unknown as Seen;
      const auth = seen.auth;
      const session = kind === undefined ? undefined : (seen[SESSION] ?? seen.oidc);
      auditor.observe({
        startTime,
        durationMs: performance.now() - t0,
        method: req.method,
        url: req.originalUrl,
        route: routeOf(req),
        status: res.statusCode,
        aborted: !res.writableFinished,
        headers: req.headers,
        response: res,
        // req.ip runs proxy-addr on every read (~3.5 µs a request); without 'trust proxy' it is the
        // socket's address, read directly.
        ip: req.app?.get('trust proxy') ? req.ip : (req.socket?.remoteAddress ?? req.ip),
        body: kind === undefined ? undefined : req.body,
        error: seen[ERROR],
        user: session?.user,
        idTokenClaims: session?.idTokenClaims,
        tokenClaims: auth?.payload,
        tokenHeader: auth?.header,
        transaction: kind === 'callback' ? seen.openidState !== undefined : undefined,
      });
    });
    // overflow: 'block' with a full queue: the request waits here for room.
    const wait = auditor.admit();
    if (wait) void wait.then(() => next());
    else next();
  };
}

/**
 * The template of the route that matched, mount prefix included (`/api` + `/orders/:id`). Express
 * keeps the prefix in `req.baseUrl` only while the router runs: a route whose handler failed is
 * answered after its router restored a parent's. So the prefix is the received path's leading
 * segments, those the template does not account for; only a template of no fixed length
 * (`*splat`, `{/:optional}`, a regular expression) takes `req.baseUrl` as it stands. Core redacts
 * the prefix like any path: it holds values (`/tenants/acme`).
 */
function routeOf(req: Request): string | undefined {
  const template: unknown = req.route?.path;
  if (typeof template !== 'string') return undefined;
  if (/[*?{(]/.test(template)) return req.baseUrl + template;
  const url = req.originalUrl;
  const q = url.search(/[?#]/);
  let end = q === -1 ? url.length : q;
  if (url[end - 1] === '/') end--; // Express matches '/orders/1/' to '/orders/:id'
  // One received segment per segment of the template ('/' has none).
  for (let i = template === '/' ? 1 : 0; i < template.length && end > 0; i++) {
    if (template[i] === '/') end = url.lastIndexOf('/', end - 1);
  }
  if (end <= 0) return template;
  return template === '/' ? url.slice(0, end) : url.slice(0, end) + template;
}

function keepSessionOnAssign(req: Request): void {
  let context: Seen['oidc'];
  Object.defineProperty(req, 'oidc', {
    configurable: true,
    enumerable: true,
    get: () => context,
    set(value: Seen['oidc']) {
      context = value;
      (req as unknown as Seen)[SESSION] = {
        user: value?.user,
        idTokenClaims: value?.idTokenClaims,
      };
    },
  });
}

/**
 * Error companion: mount after your routes so callback failures carry their exact reason
 * (`state_mismatch`, `idp_error` ...). It only notes the error and passes it on.
 */
function errors(): ErrorRequestHandler {
  return function authtrailErrors(err, req, _res, next) {
    (req as unknown as Seen)[ERROR] = err;
    next(err);
  };
}

export const authtrail: typeof create & { errors: typeof errors } = Object.assign(create, {
  errors,
});
