import { shapeOf } from '../errors.js';
import type { OptionCheck } from '../internal/option-check.js';

/**
 * The provider's own sign-in form: where the login form posts (oidc-provider's interaction login,
 * e.g. `POST /interaction/:uid/login`). A request there that does not finish the interaction (the
 * form is shown again, or a 4xx) is a failed sign-in.
 */
export interface SignInOptions {
  /**
   * The form's route(s): a path, or `'METHOD path'`; `:name` matches one path segment. Paths are
   * matched as the app receives them (a mount prefix belongs in the path). The first `:name` is the
   * interaction's id. Without a method: POST.
   * @example 'POST /interaction/:uid/login'
   */
  routes: string | readonly string[];
  /**
   * The body field(s) holding the account the user typed, the first non-empty one wins. No other
   * field of the body is ever read. @default ['login', 'username', 'email']
   */
  accountField?: string | readonly string[];
}

/** `signIn` as core uses it. */
export interface ResolvedSignIn {
  readonly routes: readonly {
    readonly method: string;
    readonly path: RegExp;
    /** The literal start of the path (lower case), tested first: most URLs fail at its 2nd character. */
    readonly prefix: string;
  }[];
  readonly fields: readonly string[];
}

const DEFAULT_FIELDS = Object.freeze(['login', 'username', 'email']);
const METHODS = /^(GET|POST|PUT|PATCH|DELETE)$/;

/** Compiles the `signIn` option once; problems are reported on `check`. */
export function compileSignIn(
  value: unknown,
  check: OptionCheck<unknown>,
): ResolvedSignIn | undefined {
  if (value === undefined) return undefined;
  const fix = "use { routes: 'POST /interaction/:uid/login' }";
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    check.issue('signIn', shapeOf(value), fix);
    return undefined;
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'routes' && key !== 'accountField')
      check.issue(
        `signIn.${key}`,
        shapeOf(v[key]),
        'unknown option; known options are routes, accountField',
      );
  }
  const list = (typeof v.routes === 'string' ? [v.routes] : v.routes) as unknown;
  const routes: { method: string; path: RegExp; prefix: string }[] = [];
  if (!Array.isArray(list) || list.length === 0)
    check.issue('signIn.routes', shapeOf(v.routes), fix);
  else
    list.forEach((route: unknown, i) => {
      const m =
        typeof route === 'string' ? /^(?:([A-Z]+)\s+)?(\/[^\s?#]*)$/.exec(route.trim()) : null;
      if (!m || (m[1] !== undefined && !METHODS.test(m[1])))
        check.issue(
          `signIn.routes[${i}]`,
          shapeOf(route),
          "use a path, or a method and a path, such as 'POST /interaction/:uid/login'",
        );
      else
        routes.push({
          method: m[1] ?? 'POST',
          path: pathPattern(m[2]!),
          prefix: m[2]!.split(':')[0]!.toLowerCase(),
        });
    });
  const given = typeof v.accountField === 'string' ? [v.accountField] : v.accountField;
  let fields: readonly string[] = DEFAULT_FIELDS;
  if (given !== undefined) {
    if (
      !Array.isArray(given) ||
      given.length === 0 ||
      given.some((f) => typeof f !== 'string' || !/^[\w.-]{1,64}$/.test(f))
    )
      check.issue(
        'signIn.accountField',
        shapeOf(v.accountField),
        "use the name of the form's account field, e.g. 'email', or a list of names",
      );
    else fields = Object.freeze([...(given as string[])]);
  }
  return Object.freeze({ routes: Object.freeze(routes), fields });
}

/** `/interaction/:uid/login` as an anchored pattern; `:name` segments capture, the rest is literal. */
function pathPattern(path: string): RegExp {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const source = trimmed
    .split('/')
    .map((s) => (s.startsWith(':') ? '([^/?#]+)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  // Case-insensitive and with an optional trailing slash, as Express, Koa and Fastify route by default.
  return new RegExp(`^${source}/?(?:\\?|$)`, 'i');
}

/** Whether a URL is on a sign-in route (any method): adapters then hand core the parsed body. */
export function onSignInRoute(signIn: ResolvedSignIn | undefined, url: string): boolean {
  if (signIn === undefined) return false;
  // An index loop: for...of over the frozen list measured 10-15 ns slower a request.
  const routes = signIn.routes;
  for (let i = 0; i < routes.length; i++)
    if (startsWith(url, routes[i]!.prefix) && routes[i]!.path.test(url)) return true;
  return false;
}

/** Whether a request is a post of the sign-in form: one of its routes, method included. */
export function isSignInPost(signIn: ResolvedSignIn, method: string, url: string): boolean {
  const routes = signIn.routes;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    if (route.method === method && startsWith(url, route.prefix) && route.path.test(url))
      return true;
  }
  return false;
}

/**
 * `url` starts with `prefix` (lower case), ignoring ASCII case: most URLs differ at their second
 * character, so the route's regular expression runs only for URLs under the form's prefix.
 */
export function startsWith(url: string, prefix: string): boolean {
  if (url.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const c = url.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}
