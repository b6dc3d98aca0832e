import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoreFilter } from '@authtrail/store';
import {
  eventDetail,
  exportEvents,
  fields,
  filter,
  overview,
  search,
  trail,
  type Answer,
  type ViewContext,
} from './api.js';
import { recordAccess, type AccessFacts } from './internal/access.js';
import {
  cookie,
  header,
  isHttps,
  safeJson,
  securityHeaders,
  sendError,
  sendJson,
} from './internal/http.js';
import { BadRequest, text } from './internal/range.js';
import { sameSecret, sessions } from './internal/sessions.js';
import { resolveOptions } from './options.js';
import { openTail } from './tail.js';
import type { ConsoleHandler, ConsoleOptions, ConsoleRole } from './types.js';

const COOKIE = 'authtrail_console';
/** Each role includes those ranked below it. */
const RANK: Readonly<Record<ConsoleRole, number>> = { viewer: 1, auditor: 2, admin: 3 };

/** Who a request is: the console's own session, or the `auth` option's answer. */
interface Principal {
  user: string;
  roles: ConsoleRole[];
  csrf: string;
  /** The session cookie's value, when signed in with the one-time token. */
  sessionId?: string;
}

type View = (context: ViewContext) => Answer | Promise<Answer>;
const VIEWS: Readonly<Record<string, View>> = {
  overview,
  search,
  fields,
  events: eventDetail,
  trail,
};

/**
 * The console's server: a plain Node handler `(req, res, next?)` serving the sign-in link and the
 * JSON API under `<base>/api/`, with sessions, roles, CSRF checks and strict security headers.
 * Every API call is recorded through `auditor` (`audit.access.*`).
 *
 * Express strips its mount path itself; Koa and Fastify hand the raw request over and give
 * `basePath`, which the handler strips (see docs/console.md).
 * @example
 * app.use('/audit', consoleHandler({ store, auditor, auth: (req) => whoIs(req) }));
 */
export function consoleHandler(options: ConsoleOptions): ConsoleHandler {
  const o = resolveOptions(options);
  const held = sessions(o.maxSessions, o.idleMs, o.absoluteMs);
  // Spent by the first sign-in that gives it: it never works again.
  let adminToken = o.adminToken;
  const tails = new Set<() => void>();
  // The CSRF token of a principal `auth` signs in (no console session): keyed by this process.
  const csrfKey = randomBytes(32);

  /** The principal of a request: its console session first, then `auth`. */
  async function principal(req: IncomingMessage, now: number): Promise<Principal | undefined> {
    const id = cookie(req, COOKIE);
    const session = held.find(id, now);
    if (session)
      return { user: session.user, roles: known(session.roles), csrf: session.csrf, sessionId: id };
    const found = o.authenticate ? await o.authenticate(req) : undefined;
    if (!found || typeof found.user !== 'string' || found.user === '') return undefined;
    return {
      user: found.user,
      roles: known(Array.isArray(found.roles) ? found.roles : []),
      csrf: createHmac('sha256', csrfKey).update(found.user).digest('base64url'),
    };
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    next: ((error?: unknown) => void) | undefined,
    started: number,
  ): Promise<void> {
    const raw = req.url ?? '/';
    let url: URL;
    try {
      // Appended, not resolved: a target such as `//other.example/x` stays a path of this server.
      url = new URL(
        `http://console.invalid${raw.startsWith('/') && raw.length <= 8192 ? raw : '/'}`,
      );
    } catch {
      securityHeaders(res);
      return sendError(res, 400, 'invalid_request', 'the request target is not a URL');
    }
    let path = url.pathname;
    if (o.basePath !== '') {
      if (path === o.basePath || path.startsWith(`${o.basePath}/`))
        path = path.slice(o.basePath.length) || '/';
      else if (next) return next();
      else {
        securityHeaders(res);
        return sendError(res, 404, 'not_found', 'nothing here');
      }
    }
    securityHeaders(res);
    const mount = o.basePath !== '' ? o.basePath : expressMount(req);
    const method = req.method ?? 'GET';
    const now = Date.now();
    const access = (facts: AccessFacts) =>
      recordAccess(o.record, req, `${mount}${path}`, started, facts);

    if (path === '/') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.end('authtrail console: the API is under api/ (docs/console.md); the pages come next.\n');
      return;
    }
    if (path === '/login') {
      if (method !== 'GET') return notAllowed(res, 'GET');
      const given = url.searchParams.get('token') ?? '';
      // Compared in constant time; once spent (or never given) nothing matches.
      const ok = adminToken !== undefined && given !== '' && sameSecret(given, adminToken);
      if (!ok) {
        access({ ok: false, status: 401, view: 'login', reason: 'token_invalid' });
        return sendError(
          res,
          401,
          'invalid_token',
          'this sign-in link is wrong, or was used already: start authtrail console again for a new one',
        );
      }
      adminToken = undefined;
      const { id } = held.open('admin', ['admin'], now);
      const secure = o.secureCookie || isHttps(req) ? '; Secure' : '';
      res.setHeader(
        'Set-Cookie',
        `${COOKIE}=${id}; Path=${mount || '/'}; HttpOnly; SameSite=Strict; Max-Age=${o.absoluteMs / 1000}${secure}`,
      );
      access({ ok: true, status: 303, view: 'login', user: { user: 'admin', roles: ['admin'] } });
      res.statusCode = 303;
      res.setHeader('Location', `${mount}/`);
      res.setHeader('Cache-Control', 'no-store');
      res.end();
      return;
    }
    if (!path.startsWith('/api/')) return sendError(res, 404, 'not_found', 'nothing here');

    const rest = path.slice('/api/'.length);
    const slash = rest.indexOf('/');
    const name = slash === -1 ? rest : rest.slice(0, slash);
    let id: string | undefined;
    try {
      id = slash === -1 ? undefined : decodeURIComponent(rest.slice(slash + 1));
    } catch {
      id = '';
    }
    const withId = name === 'events' || name === 'trail';
    const known =
      (withId && id !== undefined) ||
      (id === undefined &&
        (Object.hasOwn(VIEWS, name) || ['me', 'tail', 'export', 'logout'].includes(name)));
    const view = known ? name : 'unknown';

    const who = await principal(req, now);
    if (!who) {
      access({ ok: false, status: 401, view, reason: 'session_missing' });
      return sendError(
        res,
        401,
        'unauthenticated',
        'sign in first: open the link authtrail console printed',
      );
    }
    const user = { user: who.user, roles: who.roles };
    if (!known) {
      access({ ok: false, status: 404, view, user, reason: 'invalid_request' });
      return sendError(res, 404, 'not_found', 'no such API view');
    }
    const need: ConsoleRole = view === 'export' ? 'auditor' : 'viewer';
    if (!who.roles.some((role) => RANK[role] >= RANK[need])) {
      access({ ok: false, status: 403, view, user, reason: 'forbidden' });
      return sendError(res, 403, 'forbidden', `this needs the ${need} role (or one above it)`);
    }
    const changes = view === 'logout';
    // A stream has no head: the live tail is GET only.
    const allowed = changes
      ? method === 'POST'
      : method === 'GET' || (method === 'HEAD' && view !== 'tail');
    if (!allowed) {
      access({ ok: false, status: 405, view, user, reason: 'invalid_request' });
      return notAllowed(res, changes ? 'POST' : 'GET');
    }
    if (changes && !sameOrigin(req, who.csrf)) {
      access({ ok: false, status: 403, view, user, reason: 'forbidden' });
      return sendError(
        res,
        403,
        'csrf',
        'a change needs the X-CSRF-Token header (from GET api/me) and a same-origin request',
      );
    }

    if (view === 'me') {
      access({ ok: true, status: 200, view, user });
      return sendJson(res, 200, { user: who.user, roles: who.roles, csrfToken: who.csrf });
    }
    if (view === 'logout') {
      held.end(who.sessionId);
      res.setHeader(
        'Set-Cookie',
        `${COOKIE}=; Path=${mount || '/'}; HttpOnly; SameSite=Strict; Max-Age=0`,
      );
      access({ ok: true, status: 200, view, user });
      return sendJson(res, 200, { signedOut: true });
    }

    const params = url.searchParams;
    const facts: AccessFacts = { ok: false, status: 500, view, user };
    try {
      if (view === 'tail') {
        facts.query = text(params, 'q', 2000);
        const where: StoreFilter | undefined = filter(facts.query);
        if (tails.size >= o.maxTails) {
          facts.status = 429;
          facts.reason = 'server_error';
          access(facts);
          return sendError(
            res,
            429,
            'too_many_tails',
            `at most ${o.maxTails} live tails are open at once; close one`,
          );
        }
        const stop = openTail(o, res, where, (end) => {
          tails.delete(stop);
          access({ ...facts, ok: true, status: 200, results: end.sent + end.more });
        });
        tails.add(stop);
        return;
      }
      if (view === 'export') {
        const found = await exportEvents({ o, params, now });
        Object.assign(facts, { query: found.query, from: found.from, to: found.to });
        facts.results = found.events.length;
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Disposition', 'attachment; filename="authtrail-export.ndjson"');
        access({ ...facts, ok: true, status: 200 });
        res.end(found.events.map((e) => `${safeJson(e)}\n`).join(''));
        return;
      }
      const answer = await VIEWS[view]!({ o, params, now, id });
      const status = answer.status ?? 200;
      access({ ...facts, ...answer, ok: true, status, user, view });
      return sendJson(res, status, answer.body);
    } catch (error) {
      // What the caller typed is in `facts` when it was read before the failure.
      if (facts.query === undefined && (view === 'search' || view === 'export'))
        facts.query = params.get('q')?.slice(0, 2000) ?? undefined;
      if (withId) facts.target = id;
      const [status, code, message, extra] = failure(error);
      facts.status = status;
      facts.reason =
        status === 400 ? 'invalid_request' : status === 503 ? 'store_unavailable' : 'server_error';
      access(facts);
      return sendError(res, status, code, message, extra);
    }
  }

  const handler = ((req, res, next) => {
    const started = performance.now();
    serve(req, res, next, started).catch(() => {
      // Never a stack, never the error's text (it may quote a connection string).
      if (!res.headersSent) sendError(res, 500, 'internal', 'the console could not answer');
      else res.destroy();
    });
  }) as ConsoleHandler;
  handler.close = () => {
    for (const stop of [...tails]) stop();
    held.clear();
  };
  return handler;
}

function known(roles: readonly unknown[]): ConsoleRole[] {
  return roles.filter((r): r is ConsoleRole => typeof r === 'string' && Object.hasOwn(RANK, r));
}

/** Express's mount path (`req.baseUrl`), so the cookie's Path and redirects name it. */
function expressMount(req: IncomingMessage): string {
  const base = (req as { baseUrl?: unknown }).baseUrl;
  return typeof base === 'string' && /^(\/[\w.~-]+)+$/.test(base) ? base : '';
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendError(res, 405, 'method_not_allowed', `use ${allow}`);
}

/**
 * A change is the page's own: its CSRF token (a header no other site can set without CORS, which
 * the console never grants), and the browser's word that the request is same-origin
 * (`Sec-Fetch-Site`, or an `Origin` equal to the console's own).
 */
function sameOrigin(req: IncomingMessage, csrf: string): boolean {
  const token = header(req, 'x-csrf-token', 256);
  if (token === undefined || !sameSecret(token, csrf)) return false;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = header(req, 'origin');
  const host = header(req, 'host');
  if (origin === undefined || host === undefined) return false;
  return origin === `${isHttps(req) ? 'https' : 'http'}://${host}`;
}

/** The status, code, message (and position) of a failed view: nothing of a stack or a secret. */
function failure(error: unknown): [number, string, string, Record<string, unknown>?] {
  if (error instanceof BadRequest) return [400, error.code, error.message, error.extra];
  const e = error as { code?: unknown; message?: unknown; position?: unknown };
  if (e?.code === 'ERR_AUTHTRAIL_INVALID_QUERY') {
    // The query language's own message: where, and what was expected (hostile text escaped).
    const message = String(e.message).replace(/^authtrail: /, '');
    return [
      400,
      'invalid_query',
      message,
      typeof e.position === 'number' ? { position: e.position } : undefined,
    ];
  }
  if (e?.code === 'timeout')
    return [503, 'timeout', 'the store did not answer in time: narrow the range'];
  if (e?.code === 'ERR_AUTHTRAIL_STORE_UNAVAILABLE')
    return [503, 'store_unavailable', 'the store cannot be reached; try again'];
  return [500, 'internal', 'the console could not answer'];
}
