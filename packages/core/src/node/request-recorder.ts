import type { AuditEvent, ManualEvent } from '@authtrail/schema';
import type { RequestView } from '../observe/common.js';
import type { AuditRecorder, HeaderBag } from '../types.js';
import { mountedRoute } from './route.js';
import { REFRESH_KEY, STATE_KEY } from './symbols.js';

/**
 * What a request recorder reads of Express's `req`, Koa's `ctx` or Fastify's `request` when the app
 * records: by name, never copied. Read here rather than in each adapter because it runs only when
 * the app records, and the three frameworks name most of it alike.
 */
interface RecordedRequest {
  readonly method?: unknown;
  /** All three have it; `url` is the fallback. */
  readonly originalUrl?: unknown;
  readonly url?: unknown;
  readonly headers?: HeaderBag;
  /** The framework's view of the client address (it honours its own proxy setting). */
  readonly ip?: unknown;
  /** The response: Express's `req.res`, Koa's `ctx.res`; Fastify's reply is in authtrail's state. */
  readonly res?: Sent;
  readonly [STATE_KEY]?: { readonly reply?: Sent; readonly route?: unknown } | null;
  /** The route template: Express (`route.path` under `baseUrl`), @koa/router (`_matchedRoute`). */
  readonly route?: { readonly path?: unknown };
  readonly baseUrl?: unknown;
  readonly _matchedRoute?: unknown;
  /** oidc-provider's `ctx.oidc` in the provider's own requests (express-openid-connect's differs). */
  readonly oidc?: { readonly route?: unknown; readonly params?: unknown };
}
interface Sent {
  readonly statusCode?: number;
  readonly headersSent?: boolean;
  readonly sent?: boolean;
}

/** The view of a request the recorder hands core. */
function viewOf(r: RecordedRequest): RequestView {
  const url = typeof r.originalUrl === 'string' ? r.originalUrl : String(r.url ?? '/');
  const state = r[STATE_KEY] ?? undefined;
  const response = r.res ?? state?.reply;
  const route =
    typeof r._matchedRoute === 'string'
      ? r._matchedRoute
      : typeof state?.route === 'string'
        ? state.route
        : typeof r.baseUrl === 'string'
          ? mountedRoute(url, r.route?.path, r.baseUrl)
          : undefined;
  return {
    method: typeof r.method === 'string' ? r.method : 'UNKNOWN',
    url,
    route,
    // The status is the response's only once it was sent: before, it is the framework's default.
    status:
      response?.headersSent === true || response?.sent === true ? response.statusCode : undefined,
    headers: r.headers ?? {},
    ip: typeof r.ip === 'string' ? r.ip : undefined,
    oidc: typeof r.oidc?.route === 'string' ? r.oidc : undefined,
  };
}

/**
 * The class of `req.audit` / `ctx.audit` / `request.audit` for one adapter. An instance holds its
 * request and nothing else (one small object, no closure per request); the request's context
 * (http, source, flow, trace) is read only when the app records, and fills what the app left out.
 * `record` is a method: call it on the recorder (`req.audit.record(...)`).
 */
export function requestRecorder(
  recordIn: (view: RequestView, event: ManualEvent) => AuditEvent,
  /** auditRefresh's hook of the adapter (see refresh.ts), on the prototype: shared. */
  refresh: unknown,
): new (request: object) => AuditRecorder {
  class RequestRecorder implements AuditRecorder {
    readonly #request: object;
    constructor(request: object) {
      this.#request = request;
    }
    record(event: ManualEvent): AuditEvent {
      return recordIn(viewOf(this.#request as RecordedRequest), event);
    }
  }
  if (refresh !== undefined)
    Object.defineProperty(RequestRecorder.prototype, REFRESH_KEY, { value: refresh });
  return RequestRecorder;
}
