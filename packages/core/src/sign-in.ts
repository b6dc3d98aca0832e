import { shapeOf, type OptionIssue } from './errors.js';
import { BoundedCache } from './internal/bounded-cache.js';
import { auditUser } from './internal/user.js';
import type { ResolvedOptions } from './options.js';
import { clean, keyedHash } from './redact.js';
import { EventTypes as T, Reasons as R } from './taxonomy.js';
import type { AuditEvent, RequestFacts } from './types.js';

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

/** Compiles the `signIn` option once; problems are added to `issues`. */
export function compileSignIn(value: unknown, issues: OptionIssue[]): ResolvedSignIn | undefined {
  if (value === undefined) return undefined;
  const fix = "use { routes: 'POST /interaction/:uid/login' }";
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    issues.push({ path: 'signIn', received: shapeOf(value), fix });
    return undefined;
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'routes' && key !== 'accountField')
      issues.push({
        path: `signIn.${key}`,
        received: shapeOf(v[key]),
        fix: 'unknown option; known options are routes, accountField',
      });
  }
  const list = (typeof v.routes === 'string' ? [v.routes] : v.routes) as unknown;
  const routes: { method: string; path: RegExp; prefix: string }[] = [];
  if (!Array.isArray(list) || list.length === 0)
    issues.push({ path: 'signIn.routes', received: shapeOf(v.routes), fix });
  else
    list.forEach((route: unknown, i) => {
      const m =
        typeof route === 'string' ? /^(?:([A-Z]+)\s+)?(\/[^\s?#]*)$/.exec(route.trim()) : null;
      if (!m || (m[1] !== undefined && !METHODS.test(m[1])))
        issues.push({
          path: `signIn.routes[${i}]`,
          received: shapeOf(route),
          fix: "use a path, or a method and a path, such as 'POST /interaction/:uid/login'",
        });
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
      issues.push({
        path: 'signIn.accountField',
        received: shapeOf(v.accountField),
        fix: "use the name of the form's account field, e.g. 'email', or a list of names",
      });
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

/**
 * `url` starts with `prefix` (lower case), ignoring ASCII case: most URLs differ at their second
 * character, so the route's regular expression runs only for URLs under the form's prefix.
 */
function startsWith(url: string, prefix: string): boolean {
  if (url.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const c = url.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Audits the sign-in form. A failed sign-in names the account only when authtrail saw that account
 * sign in before (an interaction finished after that account name was posted, and the provider's
 * resume named the account): anything else the user typed is pseudonymised, since it is often a
 * mistyped password, or another person's address. The names are kept as keyed hashes only.
 */
export function createSignInObserver(o: ResolvedOptions, signIn: ResolvedSignIn) {
  // The pseudonym key when there is one: then an attempted name that is an account's id gets the
  // same `user.hash` as that account's other events.
  const pseudonym = (value: string) => keyedHash(o.pseudonymKey ?? o.fingerprintKey, value);
  const hash = (value: string) => keyedHash(o.fingerprintKey, value);
  // Interaction id -> the account name posted when the interaction finished (hashed).
  const finishing = new BoundedCache<string, string>(10_000);
  // Account name (hashed) -> the account id the provider signed in with it.
  const known = new BoundedCache<string, string>(10_000);

  return {
    /**
     * The event of a request on a sign-in route: a failure, or null when the interaction went on;
     * undefined for any other request.
     */
    observe(f: RequestFacts, make: (type: string) => AuditEvent): AuditEvent | null | undefined {
      let uid: string | undefined;
      let matched = false;
      const routes = signIn.routes;
      for (let i = 0; i < routes.length && !matched; i++) {
        const route = routes[i]!;
        if (route.method !== f.method || !startsWith(f.url, route.prefix)) continue;
        const m = route.path.exec(f.url);
        if (m) {
          matched = true;
          uid = m[1];
        }
      }
      if (!matched) return undefined;
      // A client that went away before the answer proved nothing about its password.
      if (f.aborted) return null;
      const attempted = accountOf(f.body, signIn.fields, o.limits.maxStringLength);
      const key = attempted === undefined ? undefined : hash(attempted);
      // A redirect finishes the interaction (on to the provider's resume): that login is the
      // provider's to record, with the account it signed in.
      if (f.status >= 300 && f.status < 400) {
        if (uid !== undefined && key !== undefined) finishing.set(uid, key);
        return null;
      }
      const e = make(T.LOGIN_FAILURE);
      e.reason = f.status >= 500 ? R.SERVER_ERROR : R.INVALID_CREDENTIALS;
      const account = key === undefined ? undefined : known.get(key);
      if (account !== undefined) e.user = auditUser(o, { sub: account }, undefined);
      else if (attempted !== undefined) e.user = { hash: pseudonym(attempted) };
      return e;
    },
    /** The provider resumed interaction `uid` with `accountId` signed in (op.ts tells). */
    finished(uid: unknown, accountId: unknown): void {
      if (typeof uid !== 'string' || typeof accountId !== 'string') return;
      const key = finishing.get(uid);
      if (key !== undefined) known.set(key, accountId);
    },
  };
}

/** The account the user typed: the first non-empty field of `fields`, and nothing else of the body. */
function accountOf(body: unknown, fields: readonly string[], max: number): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  for (const name of fields) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value !== 'string') continue;
    const s = clean(value.trim(), max);
    if (s) return s;
  }
  return undefined;
}
