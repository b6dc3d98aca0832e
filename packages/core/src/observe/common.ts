import { Reasons as R, type AuditEvent, type Reason } from '@authtrail/schema';
import { newEvent } from '../event.js';
import { readTransaction } from '../integrations/express-openid-connect.js';
import type { ResolvedOptions } from '../options.js';
import { clean, cleanList, keyedHash, redactPath, redactQuery } from '../redact.js';
import type { HeaderBag, RequestFacts } from '../types.js';

/** Where the event builder hands each event it built: at once, or once a verification settled. */
export type Emit = (event: AuditEvent) => void;

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;
const MAX_FORWARDED = 8;
const XFF_BOUND = MAX_FORWARDED * 65;

/** What {@link requestContext} reads of a request. */
export type ContextFacts = Pick<
  RequestFacts,
  'url' | 'route' | 'method' | 'status' | 'durationMs' | 'headers' | 'ip'
>;

export function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The request's context on an event: `http` (the route template, else the path with credential-like
 * segments redacted; the query redacted), `source` (address, forwarded chain, user agent) and
 * `trace` (W3C traceparent). Built events and manual events recorded through `req.audit` share it.
 */
export function requestContext(o: ResolvedOptions, event: AuditEvent, f: ContextFacts): AuditEvent {
  let url = typeof f.url === 'string' ? f.url : '/';
  // Browsers never send a fragment: one in the request line (`/cb#access_token=...`) is a token a
  // client put there. Nothing from `#` on is kept, a query after it included.
  const fragment = url.indexOf('#');
  if (fragment !== -1) url = url.slice(0, fragment);
  const q = url.indexOf('?');
  // A template has no values; Express's mount prefix (req.baseUrl) does, so it is redacted too.
  const route =
    (typeof f.route === 'string' && redactPath(f.route, 256, o.pseudonymize)) || undefined;
  event.http = {
    request_id: clean(header(f.headers, o.requestIdHeader), 128),
    method: clean(f.method, 16) ?? 'UNKNOWN',
    route,
    // Paths carry ids, reset and invite tokens, e-mail addresses, oidc-provider's interaction
    // handles (/auth/:uid): where the framework matched a route its template stands in for the
    // path; elsewhere (404s, paths middleware answers) the path is logged with those redacted.
    path: route || redactPath(q === -1 ? url : url.slice(0, q), 1024, o.pseudonymize),
    query: q === -1 ? undefined : redactQuery(url.slice(q + 1), o.queryAllowList, 1024),
    status: f.status,
    duration_ms: Math.round(f.durationMs * 1000) / 1000,
  };
  const xff = header(f.headers, 'x-forwarded-for');
  event.source = {
    ip: clean(f.ip, 64),
    // Cut before any other work (a header can be megabytes): 8 entries of 64 and their commas.
    forwarded:
      xff === undefined
        ? undefined
        : cleanList(
            (xff.length > XFF_BOUND ? xff.slice(0, XFF_BOUND) : xff)
              .replace(/\s/g, '')
              .replace(/,/g, ' '),
            MAX_FORWARDED,
            64,
          ),
    user_agent: clean(header(f.headers, 'user-agent'), o.limits.maxStringLength),
  };
  const tp = header(f.headers, 'traceparent');
  const m = tp === undefined ? null : TRACEPARENT.exec(tp);
  if (m) event.trace = { id: m[1]!, span_id: m[2]! };
  return event;
}

/** The event of one finished request, for one role's observer block: a new event with its context. */
export function requestEvent(
  o: ResolvedOptions,
  observer: AuditEvent['observer'],
  type: string,
  f: RequestFacts,
): AuditEvent {
  return requestContext(o, newEvent(observer, type, f.startTime), f);
}

/** An event's `client` from a client id claim or parameter (the first of a list). */
export function clientOf(id: unknown): AuditEvent['client'] {
  const c = clean(Array.isArray(id) ? id[0] : id, 256);
  return c === undefined ? undefined : { id: c };
}

/** OAuth error codes as RFC 6749 / OIDC spell them. Anything else is not logged as `error.code`. */
const OAUTH_ERROR = /^[a-z][a-z0-9_]{1,63}$/;

export function oauthErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && OAUTH_ERROR.test(value) ? value : undefined;
}

// The OAuth errors of the token, revocation and introspection endpoints that are their own reason
// (the provider's and the relying party's refresh events share them).
export const ENDPOINT_REASONS: ReadonlySet<string> = new Set<Reason>([
  R.INVALID_CLIENT,
  R.INVALID_GRANT,
  R.INVALID_REQUEST,
  R.INVALID_SCOPE,
  R.INVALID_TARGET,
  R.UNAUTHORIZED_CLIENT,
  R.UNSUPPORTED_GRANT_TYPE,
  R.UNSUPPORTED_TOKEN_TYPE,
]);

// The OAuth errors of the authorization endpoint that are their own reason, whether the provider
// redirected with them, posted them (form_post) or rendered them on its own error page.
// `access_denied` is not here: it is `user_denied`, as at the consent prompt.
export const AUTHORIZE_REASONS: ReadonlySet<string> = new Set<Reason>([
  R.INVALID_CLIENT,
  R.INVALID_REQUEST,
  R.INVALID_SCOPE,
  R.INVALID_TARGET,
  R.UNAUTHORIZED_CLIENT,
  R.UNSUPPORTED_RESPONSE_TYPE,
  R.UNSUPPORTED_RESPONSE_MODE,
  R.INVALID_REDIRECT_URI,
  R.INVALID_CLIENT_METADATA,
  R.INVALID_REQUEST_OBJECT,
  R.INVALID_REQUEST_URI,
  R.TEMPORARILY_UNAVAILABLE,
  R.SERVER_ERROR,
  R.LOGIN_REQUIRED,
  R.CONSENT_REQUIRED,
  R.INTERACTION_REQUIRED,
  R.ACCOUNT_SELECTION_REQUIRED,
]);

/** A request as a route handler sees it, before the response: what `req.audit` reads. */
export interface RequestView {
  method: string;
  url: string;
  route?: string;
  /** Known once the response was sent. */
  status?: number;
  headers: HeaderBag;
  ip?: string;
  /** oidc-provider's `ctx.oidc`, in the provider's own request. */
  oidc?: unknown;
}

/**
 * Fills a manual event with the context of the request it is recorded in: `http`, `source` and
 * `trace` as built events have them, field by field where the app left a field out, and `flow`
 * (the keyed hash of the authorization request's nonce, as the provider's and the relying party's
 * events carry it) unless the app set one. There is no `duration_ms`: the request is not over.
 */
export function fillRequestContext(o: ResolvedOptions, event: AuditEvent, view: RequestView): void {
  const built = requestContext(o, {} as AuditEvent, { ...view, status: 0, durationMs: 0 });
  const http = built.http!;
  event.http = {
    request_id: http.request_id,
    method: http.method,
    route: http.route,
    path: http.path,
    query: http.query,
    status: view.status,
    duration_ms: undefined,
    ...event.http,
  } as AuditEvent['http'];
  event.source = event.source ? { ...built.source, ...event.source } : built.source;
  event.trace ??= built.trace;
  if (event.flow === undefined) {
    const params = (view.oidc as { params?: { nonce?: unknown } } | null | undefined)?.params;
    const nonce =
      typeof params?.nonce === 'string'
        ? params.nonce
        : readTransaction(header(view.headers, 'cookie'))?.nonce;
    if (nonce !== undefined) event.flow = { id: keyedHash(o.fingerprintKey, nonce) };
  }
}
