import { createAuditor, type AdapterHandle, type Auditor } from '../auditor.js';
import type { AuthtrailOptions } from '../options.js';
import type { Claims } from '../types.js';
import { ADAPTER_KEY, STATE_KEY } from './symbols.js';
import { observeOidcRefresh } from '../integrations/express-openid-connect.js';

/** Options of every adapter's factory: every core option, or an `auditor` to share one between apps. */
export interface AdapterOptions extends AuthtrailOptions {
  /** Use this auditor instead of creating one (the other options are then ignored). */
  auditor?: Auditor;
}

/** {@link attachAdapter}'s answer. */
export interface AttachedAdapter {
  /** What the adapter drives, bound to its name. */
  readonly handle: AdapterHandle;
  /** For the app's shutdown: flushes a shared auditor, closes one the adapter created. */
  release(): Promise<void>;
}

/**
 * For adapters: takes the `auditor` of the options or creates one from them, and attaches to it
 * under the adapter's name. An auditor created here names its own events (checkpoints, delivery
 * reports) after the adapter too.
 * @example
 * const { handle } = attachAdapter('express', options);
 */
export function attachAdapter(adapter: string, options: AdapterOptions = {}): AttachedAdapter {
  const { auditor: shared, ...rest } = options;
  const auditor = shared ?? createAuditor({ ...rest, [ADAPTER_KEY]: adapter } as AuthtrailOptions);
  // express-openid-connect runs on Express only: its `req.oidc.accessToken.refresh()` is hooked once,
  // here, so that the adapter (and every request) carries nothing for it.
  if (adapter === 'express') observeOidcRefresh();
  return {
    handle: auditor.attach(adapter),
    release: () => (shared ? auditor.flush() : auditor.close()),
  };
}

/**
 * Calls `go` once the auditor admits the request: at once, or (`overflow: 'block'` with a full
 * queue) when the queue has room, so the request waits here and not in memory behind it.
 */
export function whenAdmitted(handle: AdapterHandle, go: () => void): void {
  const wait = handle.admit();
  if (wait) void wait.then(() => go());
  else go();
}

/** Milliseconds since `t0`, a `performance.now()` taken when the request arrived. */
export function since(t0: number): number {
  return performance.now() - t0;
}

/**
 * What an adapter keeps per request when it cannot close over it (Fastify's hooks): one object of
 * one shape, every field set at arrival.
 */
export interface RequestState<Reply = unknown> {
  /** `Date.now()` at arrival. */
  startTime: number;
  /** `performance.now()` at arrival: the latency's start. */
  t0: number;
  error: unknown;
  reply: Reply | undefined;
  /** The route template, when the framework tells it before the response. */
  route: string | undefined;
  /** Which relying-party route (or sign-in form) the request is on, as `routeKind()` tells. */
  kind: string | undefined;
  /** Set once the request's event was built: an aborted request can finish later. */
  observed: boolean;
}

/** A request's state as it arrives; `kind` as `AdapterHandle.routeKind()` tells. */
export function arrival<Reply>(
  reply: Reply | undefined,
  kind: string | undefined = undefined,
): RequestState<Reply> {
  const startTime = Date.now();
  return {
    startTime,
    t0: performance.now(),
    error: undefined,
    reply,
    route: undefined,
    kind,
    observed: false,
  };
}

/** The claims an auth plugin left on the request (a verified payload): plain objects only. */
export function plainClaims(value: unknown): Claims | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? (value as Claims) : undefined;
}

/**
 * For frameworks that tell a route's template when the route is added (Fastify's `onRoute`): puts
 * a request hook first on the route that notes the template on the request's state, so that no
 * request looks it up.
 */
export function markRoute(route: { url: string; onRequest?: unknown }): void {
  type Hook = (request: object, reply: unknown, done: () => void) => void;
  const template = route.url;
  const mark: Hook = (request, _reply, done) => {
    const state = (request as { [STATE_KEY]?: RequestState | null })[STATE_KEY];
    if (state !== null && state !== undefined) state.route = template;
    done();
  };
  const hooks = route.onRequest as Hook | Hook[] | undefined | null;
  route.onRequest = hooks === undefined || hooks === null ? mark : [mark].concat(hooks);
}
