import { checkOptions, shapeOf } from '@authtrail/core/sink';
import type { ConsoleAuth, ConsoleOptions, ConsolePrincipal } from './types.js';
import type { IncomingMessage } from 'node:http';

/** Options as the handler uses them: complete, checked, frozen. */
export interface ResolvedConsole {
  readonly store: ConsoleOptions['store'];
  readonly record: ConsoleOptions['auditor']['record'];
  readonly adminToken: string | undefined;
  readonly authenticate:
    | ((
        request: IncomingMessage,
      ) => ConsolePrincipal | undefined | Promise<ConsolePrincipal | undefined>)
    | undefined;
  /** '' or '/audit': no trailing slash. */
  readonly basePath: string;
  readonly secureCookie: boolean;
  readonly maxSessions: number;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly timeoutMs: number;
  readonly maxTails: number;
  readonly tailRate: number;
  readonly tailPollMs: number;
  readonly heartbeatMs: number;
}

const KNOWN = [
  'store',
  'auditor',
  'adminToken',
  'auth',
  'basePath',
  'secureCookie',
  'maxSessions',
  'idleTimeoutS',
  'absoluteTimeoutS',
  'timeoutMs',
  'maxTails',
  'tailRate',
  'tailPollMs',
  'heartbeatS',
] as const;

/** The one place defaults live: every problem reported at once (ERR_AUTHTRAIL_INVALID_OPTIONS). */
export function resolveOptions(options: ConsoleOptions): ResolvedConsole {
  const check = checkOptions('consoleHandler', options, '');
  const o = check.o;
  check.known('', o, KNOWN);
  const store = o.store as ConsoleOptions['store'] | undefined;
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.query !== 'function' ||
    typeof store.count !== 'function' ||
    typeof store.top !== 'function' ||
    typeof store.trail !== 'function'
  )
    check.issue(
      'store',
      shapeOf(store),
      'give a store: postgresStore(...) from @authtrail/store-postgres or embeddedStore() from @authtrail/store-embedded',
    );
  const auditor = o.auditor as ConsoleOptions['auditor'] | undefined;
  if (auditor === null || typeof auditor !== 'object' || typeof auditor.record !== 'function')
    check.issue(
      'auditor',
      shapeOf(auditor),
      'give an auditor (createAuditor(...)): every call of the console is recorded through it (PCI DSS 10.2.1.3)',
    );
  const adminToken = o.adminToken;
  // The length only, never a character of it: it is a secret.
  if (adminToken !== undefined && (typeof adminToken !== 'string' || adminToken.length < 32))
    check.issue(
      'adminToken',
      typeof adminToken === 'string'
        ? `a string of ${adminToken.length} characters`
        : shapeOf(adminToken),
      "use 32 random characters or more, e.g. randomBytes(32).toString('base64url')",
    );
  const auth = o.auth as ConsoleAuth | undefined;
  let authenticate: ResolvedConsole['authenticate'];
  if (typeof auth === 'function') authenticate = auth;
  else if (auth !== null && typeof auth === 'object' && typeof auth.authenticate === 'function')
    authenticate = (request) => auth.authenticate(request);
  else if (auth !== undefined)
    check.issue(
      'auth',
      shapeOf(auth),
      'give a function (req) => ({ user, roles }) or undefined, or { authenticate }',
    );
  let basePath = o.basePath ?? '';
  if (typeof basePath !== 'string' || (basePath !== '' && !/^(\/[\w.~-]+)+\/?$/.test(basePath))) {
    check.issue(
      'basePath',
      shapeOf(basePath),
      "use a path such as '/audit' (letters, digits, - . _ ~)",
    );
    basePath = '';
  }
  if (basePath.endsWith('/')) basePath = basePath.slice(0, -1);
  const resolved: ResolvedConsole = {
    store: store!,
    record: auditor?.record?.bind(auditor) as ResolvedConsole['record'],
    adminToken: typeof adminToken === 'string' ? adminToken : undefined,
    authenticate,
    basePath,
    secureCookie: check.bool('secureCookie', o.secureCookie, false),
    maxSessions: check.int('maxSessions', o.maxSessions, 1000, 1, 1_000_000),
    idleMs: check.int('idleTimeoutS', o.idleTimeoutS, 1800, 1, 86_400) * 1000,
    absoluteMs: check.int('absoluteTimeoutS', o.absoluteTimeoutS, 43_200, 1, 7 * 86_400) * 1000,
    timeoutMs: check.int('timeoutMs', o.timeoutMs, 10_000, 100, 600_000),
    maxTails: check.int('maxTails', o.maxTails, 16, 1, 10_000),
    tailRate: check.int('tailRate', o.tailRate, 50, 1, 10_000),
    tailPollMs: check.int('tailPollMs', o.tailPollMs, 1000, 50, 60_000),
    heartbeatMs: check.int('heartbeatS', o.heartbeatS, 15, 1, 3600) * 1000,
  };
  check.done();
  return Object.freeze(resolved);
}
