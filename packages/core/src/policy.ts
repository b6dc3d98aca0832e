import type { AuditEvent, Outcome } from '@authtrail/schema';
import { shapeOf } from './errors.js';
import type { OptionCheck } from './internal/option-check.js';

/**
 * One rule of the `policy` option: which events it matches and what happens to them. A rule is a
 * pattern of an event: every field given must match (a list matches any of its entries), a field
 * left out matches everything, so a rule with no field matches every event.
 * @example
 * { action: 'skip', route: ['/healthz', '/metrics'] }
 */
export interface PolicyRule {
  /** `'skip'`: the event goes nowhere and is counted in `stats().skipped`. `'record'`: it is recorded. */
  action: 'record' | 'skip';
  /** Event types: exact (`'api.access.success'`) or a prefix ending in `.*` (`'api.*'`). */
  type?: string | readonly string[];
  /** `'success'`, `'failure'` or `'detected'`. */
  outcome?: Outcome | readonly Outcome[];
  /**
   * The event's `http.path`: the route template when the framework matched one (`'/users/:id'`,
   * mount prefix included), else the path received. Exact, or a prefix ending in `/*`
   * (`'/internal/*'`). A trailing slash is ignored.
   */
  route?: string | readonly string[];
  /** The event's `client.id`. */
  client?: string | readonly string[];
}

/** What the policy decided: the index of the skip rule that matched, or -1 to record. */
export type PolicyCheck = (event: AuditEvent) => number;

interface Matcher {
  readonly skip: boolean;
  readonly types: ReadonlySet<string> | undefined;
  readonly typePrefixes: readonly string[];
  readonly outcomes: ReadonlySet<string> | undefined;
  readonly routes: ReadonlySet<string> | undefined;
  readonly routePrefixes: readonly string[];
  readonly clients: ReadonlySet<string> | undefined;
}

const RULE_KEYS = ['action', 'type', 'outcome', 'route', 'client'];
const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'detected'];
const TYPE = /^[a-z][\w-]*(\.[\w-]+){0,2}(\.\*)?$/;
// A path or template from '/', or a prefix of them ending in '/*': no query, fragment or space.
const ROUTE = /^(?:\/[^?#\s*]*|(?:\/[^?#\s*]*)?\/\*)$/;
// authtrail's own pipeline events: a log that hides its own losses or checkpoints proves nothing.
const PIPELINE = 'audit.';

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * Compiles the `policy` option into lookups, once, at startup: sets for exact values, short lists
 * for prefixes. Returns undefined when there is no policy (nothing to check per event). Problems
 * are reported on `check`, each naming the rule index and field (`policy[0].route`).
 */
export function compilePolicy(
  value: unknown,
  check: OptionCheck<unknown>,
): PolicyCheck | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    check.issue(
      'policy',
      shapeOf(value),
      "use an array of rules, e.g. [{ action: 'skip', route: ['/healthz'] }]",
    );
    return undefined;
  }
  const before = check.issues.length;
  const matchers = value.map((rule: unknown, i) => compileRule(rule, `policy[${i}]`, check));
  if (check.issues.length > before || matchers.length === 0) return undefined;
  return policyCheck(matchers as Matcher[]);
}

function compileRule(rule: unknown, at: string, check: OptionCheck<unknown>): Matcher | undefined {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    check.issue(at, shapeOf(rule), "use a rule such as { action: 'skip', route: '/healthz' }");
    return undefined;
  }
  const r = rule as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!RULE_KEYS.includes(key))
      check.issue(
        `${at}.${key}`,
        shapeOf(r[key]),
        `unknown field; a rule has ${RULE_KEYS.join(', ')}`,
      );
  }
  if (r.action !== 'skip' && r.action !== 'record')
    check.issue(`${at}.action`, shapeOf(r.action, ['skip', 'record']), "use 'skip' or 'record'");
  // Each field: a string or a non-empty list of strings, each passing `valid`.
  const list = (field: string, valid: (s: string) => boolean, fix: string) => {
    const v = r[field];
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? (v as unknown[]) : [v];
    const ok = items.length > 0 && items.every((s) => typeof s === 'string' && valid(s));
    if (!ok) {
      const shown = items.find((s) => typeof s !== 'string' || !valid(s));
      check.issue(
        `${at}.${field}`,
        items.length === 0 ? shapeOf(v) : shapeOf(shown, OUTCOMES),
        fix,
      );
      return undefined;
    }
    return items as string[];
  };
  const types = list(
    'type',
    (s) => TYPE.test(s) && !s.startsWith(PIPELINE),
    "use event types such as 'api.access.success' or prefixes such as 'api.*'; authtrail's own audit.* events are always recorded",
  );
  const outcomes = list(
    'outcome',
    (s) => OUTCOMES.includes(s as Outcome),
    `use ${OUTCOMES.join(', ')}`,
  );
  const routes = list(
    'route',
    (s) => ROUTE.test(s),
    "use a route template or path such as '/healthz' or '/users/:id', or a prefix such as '/internal/*'",
  );
  const clients = list('client', (s) => s !== '', 'use client ids, e.g. "probe"');
  const prefix = (items: string[] | undefined, mark: string) =>
    (items ?? []).filter((s) => s.endsWith(mark)).map((s) => s.slice(0, -1));
  // Undefined when the field lists only prefixes: no set lookup that can only miss.
  const exact = (items: string[] | undefined, mark: string, map = (s: string) => s) => {
    const set = new Set((items ?? []).filter((s) => !s.endsWith(mark)).map(map));
    return set.size > 0 ? set : undefined;
  };
  return {
    skip: r.action === 'skip',
    types: exact(types, '.*'),
    typePrefixes: prefix(types, '.*'),
    outcomes: outcomes && new Set(outcomes),
    routes: exact(routes, '/*', trimSlash),
    routePrefixes: prefix(routes, '/*'),
    clients: clients && new Set(clients),
  };
}

function anyPrefix(value: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (value.startsWith(p)) return true;
  return false;
}

/** A field matches when the rule does not name it, or when its set or one of its prefixes holds the value. */
function matches(
  value: string | undefined,
  set: ReadonlySet<string> | undefined,
  prefixes: readonly string[],
): boolean {
  if (set === undefined && prefixes.length === 0) return true;
  if (value === undefined) return false;
  return set?.has(value) === true || anyPrefix(value, prefixes);
}

function policyCheck(rules: readonly Matcher[]): PolicyCheck {
  // The path is trimmed only when some rule looks at it.
  const byRoute = rules.some((m) => m.routes !== undefined || m.routePrefixes.length > 0);
  return (event) => {
    if (event.type.startsWith(PIPELINE)) return -1;
    const path = byRoute && event.http ? trimSlash(event.http.path) : undefined;
    for (let i = 0; i < rules.length; i++) {
      const m = rules[i]!;
      if (
        matches(event.type, m.types, m.typePrefixes) &&
        (m.outcomes === undefined || m.outcomes.has(event.outcome)) &&
        matches(path, m.routes, m.routePrefixes) &&
        (m.clients === undefined || (event.client !== undefined && m.clients.has(event.client.id)))
      )
        return m.skip ? i : -1;
    }
    return -1;
  };
}
