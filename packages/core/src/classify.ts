import { shapeOf } from './errors.js';
import type { OptionCheck } from './internal/option-check.js';

/** The relying-party routes authtrail recognises. Every other request is an API request. */
export type RouteKind = 'login' | 'callback' | 'logout' | 'backchannel_logout';

/**
 * Relying-party paths, named as in express-openid-connect's `routes` option so the same object can
 * be passed to both. `false` turns a route off. Paths are matched as the app receives them, so a
 * prefix the app is mounted under belongs in the path.
 */
export interface RouteOptions {
  /** @default '/login' */
  login?: string | false;
  /** @default '/callback' */
  callback?: string | false;
  /** @default '/logout' */
  logout?: string | false;
  /** @default '/backchannel-logout' */
  backchannelLogout?: string | false;
  /** Accepted (and ignored) so express-openid-connect's own `routes` object can be passed as is. */
  postLogoutRedirect?: string;
}

const EOC_DEFAULTS: Required<Omit<RouteOptions, 'postLogoutRedirect'>> = {
  login: '/login',
  callback: '/callback',
  logout: '/logout',
  backchannelLogout: '/backchannel-logout',
};

const KIND_OF: Record<keyof typeof EOC_DEFAULTS, RouteKind> = {
  login: 'login',
  callback: 'callback',
  logout: 'logout',
  backchannelLogout: 'backchannel_logout',
};

function normalise(path: string): string {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return p.toLowerCase();
}

/** Compiles the `routes` option into a path lookup, once, at startup; problems are reported on `check`. */
export function compileRoutes(
  routes: 'express-openid-connect' | RouteOptions | undefined,
  check: OptionCheck<unknown>,
): Map<string, RouteKind> {
  let spec: RouteOptions = {};
  if (routes === undefined || routes === 'express-openid-connect') spec = {};
  else if (routes !== null && typeof routes === 'object' && !Array.isArray(routes)) spec = routes;
  else {
    check.issue(
      'routes',
      shapeOf(routes, ['express-openid-connect', 'oidc-provider']),
      "use 'express-openid-connect', 'oidc-provider' or an object such as { login: '/signin', callback: '/cb' }",
    );
  }
  const table = new Map<string, RouteKind>();
  for (const key of Object.keys(spec)) {
    if (!(key in EOC_DEFAULTS) && key !== 'postLogoutRedirect') {
      check.issue(
        `routes.${key}`,
        'a value',
        `unknown route; known routes are ${Object.keys(EOC_DEFAULTS).join(', ')}`,
      );
    }
  }
  for (const name of Object.keys(EOC_DEFAULTS) as (keyof typeof EOC_DEFAULTS)[]) {
    const value = spec[name] === undefined ? EOC_DEFAULTS[name] : spec[name];
    if (value === false) continue;
    if (typeof value !== 'string' || value === '' || /[?#\s]/.test(value)) {
      check.issue(
        `routes.${name}`,
        shapeOf(value),
        "use a path such as '/auth/login' (no ?, # or spaces), or false to turn the route off",
      );
      continue;
    }
    // Relative paths work in express-openid-connect (it adds the leading slash): match that.
    const path = normalise(value.startsWith('/') ? value : '/' + value);
    if (table.has(path)) {
      check.issue(
        `routes.${name}`,
        shapeOf(value),
        `the path is already used by routes.${[...table].find(([p]) => p === path)?.[1]}; give each route its own path`,
      );
    }
    table.set(path, KIND_OF[name]);
  }
  return table;
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Which relying-party route a request URL is, if any. A map lookup; no regular expressions. */
export function routeKind(
  table: ReadonlyMap<string, RouteKind>,
  url: string,
): RouteKind | undefined {
  if (table.size === 0) return undefined;
  const path = pathOf(url);
  return table.get(path) ?? table.get(normalise(path));
}
