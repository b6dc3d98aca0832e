import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeliveryOptions } from './delivery/options.js';
import { shapeOf } from './errors.js';
import { checkOptions, type OptionCheck } from './internal/option-check.js';
import { chainKeyId, type ChainKey } from './integrity/key.js';
import { compileRoutes, type RouteKind, type RouteOptions } from './classify.js';
import { compilePolicy, type PolicyCheck, type PolicyRule } from './policy.js';
import { compileSignIn, type ResolvedSignIn, type SignInOptions } from './observe/sign-in-route.js';
import { clean } from './redact.js';
import type { Sink } from './types.js';
import { checkVerifyOptions, type VerifyOptions } from './token/verify-options.js';

/** Options of {@link createAuditor} and of every adapter. */
export interface AuthtrailOptions {
  /** Name of this service in `observer.service`. @default env OTEL_SERVICE_NAME, npm_package_name, else 'app' */
  service?: string;
  /** Where events go. @default [stdoutSink()] */
  sinks?: Sink[];
  /**
   * Relying-party routes to recognise. A preset name, or paths named as in express-openid-connect's
   * own `routes` option (pass the same object you give `auth()`); `false` turns a route off.
   * `'oidc-provider'` audits a node-oidc-provider instance instead (`provider.use(authtrail(...))`):
   * events come from its endpoints (`ctx.oidc`), not from paths.
   * @default 'express-openid-connect' (`/login`, `/callback`, `/logout`, `/backchannel-logout`)
   */
  routes?: 'express-openid-connect' | 'oidc-provider' | RouteOptions;
  /**
   * The provider's own sign-in form (`routes: 'oidc-provider'`, or any app's login form): a request
   * to it that does not finish the interaction (no redirect) is recorded as `authn.login.failure`,
   * reason `invalid_credentials`, with the account typed pseudonymised unless authtrail saw it sign
   * in before. Mount the adapter where the form's route is, with the provider's auditor.
   * @example signIn: { routes: 'POST /interaction/:uid/login' }
   * @default off
   */
  signIn?: SignInOptions;
  /**
   * Keys for keyed hashes, each at least 32 bytes (a string of 32+ characters or a Uint8Array).
   * `fingerprint` keys token fingerprints and hashed state/session ids: share it across instances
   * to correlate them. @default env AUTHTRAIL_FINGERPRINT_KEY, else a random key per process
   */
  keys?: {
    fingerprint?: string | Uint8Array;
    pseudonym?: string | Uint8Array;
    /**
     * Turns on the tamper-evident hash chain: every event gets `seq` and `chain` (keyed HMAC over
     * the event and the previous hash), checked by `authtrail verify`. A key alone gets an id derived
     * from it; to rotate, give `[{ id, key }, ...]`: the first one signs (`chain.kid` names it), the
     * others are the older keys `authtrail verify` is also given. Env: AUTHTRAIL_CHAIN_KEY.
     * `{ sealing: path }` seals the chain forward-securely instead: the key comes from the state
     * file that `authtrail keys --setup <path>` made, and moves on (and the old one is erased)
     * every epoch; `authtrail verify --seed-file` checks it with the seed printed at setup.
     */
    chain?:
      | string
      | Uint8Array
      | readonly { id: string; key: string | Uint8Array }[]
      | { sealing: string };
  };
  /**
   * Who signed in, for a relying party authtrail cannot see into (openid-client used by hand, a
   * session of your own): given the framework's request (Express `req`, Koa `ctx`, Fastify
   * `request`) when the response is finished, it returns the user's ID token claims (best: they
   * also name the client, issuer and session), claims or a profile with `sub` or `id`, a subject
   * string, or nothing when nobody is signed in. Asked on the callback, logout and refused pages
   * only. Passport's `req.user` / `ctx.state.user` and express-openid-connect are read without it.
   * @example user: (ctx) => ctx.session?.claims
   */
  // `any`: the app's own request type (Express `Request`, Koa `Context`) must fit without a cast.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  user?: (request: any) => unknown;
  /** Log users as `user.hash` (keyed HMAC of the subject, needs `keys.pseudonym`) instead of `user.id`. @default false */
  pseudonymize?: boolean;
  /** Also log `user.name` and `user.email` (not with `pseudonymize`). @default false */
  profile?: boolean;
  /** Claim that holds the user's roles. @default 'roles' */
  rolesClaim?: string;
  /** Query parameters logged with their value; every other value becomes `[redacted]`. @default ['error'] */
  queryAllowList?: string[];
  /** Request header carrying a request id, logged as `http.request_id`. @default 'x-request-id' */
  requestIdHeader?: string;
  /**
   * Verify bearer tokens with jose when the app's own verifier is not visible to authtrail (its claims
   * are read from `req.auth`, `ctx.state.user`, `request.user` when present). Runs after the response,
   * off the request path; results are cached per token. Without it, tokens are decoded and logged
   * `verified: false`.
   */
  verify?: VerifyOptions;
  /** The delivery contract: queue bounds, batching, retries and what happens on overflow. */
  delivery?: {
    /** Events each sink's queue holds at most. @default 10000 */
    maxQueue?: number;
    /** Bytes (of JSON lines) each sink's queue holds at most. @default 33554432 (32 MiB) */
    maxBytes?: number;
    /** Events handed to a sink in one write at most. @default 512 */
    maxBatch?: number;
    /** How long the first queued event may wait for others before a write. @default 0 (next event-loop turn) */
    maxWaitMs?: number;
    /**
     * When a sink's queue is full: `'drop'` the event (counted in `stats().dropped` and reported
     * by an `audit.delivery.failure` event once the sink accepts again), `'spill'` it to a file in
     * `spillDir` (replayed in order when the sink recovers, also after a restart), or `'block'`:
     * new requests wait at the middleware until there is room.
     * @default 'drop'
     */
    overflow?: 'drop' | 'spill' | 'block';
    /** Directory for spill files; required with `overflow: 'spill'`. Keep it across restarts. */
    spillDir?: string;
    /** Retries of a failed write before its events are dropped (`drop` only; `spill` and `block` retry until delivered). @default 5 */
    retries?: number;
    /** First retry delay; each retry doubles it, with jitter. @default 100 */
    minRetryDelayMs?: number;
    /** Longest retry delay. @default 5000 */
    maxRetryDelayMs?: number;
    /** How long `close()` keeps delivering to a failing sink before it gives up. @default 5000 */
    closeTimeoutMs?: number;
    /** Flush on SIGTERM, SIGINT and `beforeExit` (then let the signal take its course). @default true */
    handleSignals?: boolean;
  };
  /**
   * Sends the head of the hash chain (`audit.checkpoint.success`, `reason: 'anchor'`) to a second
   * destination every `everyMs` while it moves, and at close, so that `authtrail verify --anchors`
   * can tell a log whose newest events or runs were removed. Give a sink on another host (an HTTP
   * collector, a file on another volume). Needs `keys.chain`.
   * @default off; everyMs 60000
   */
  chainAnchor?: { sink: Sink; everyMs?: number };
  /**
   * Records `audit.heartbeat.success` every this many seconds, through the chain to every sink:
   * proof that this instance is alive and delivering (`silent_pipeline` in `@authtrail/detect`
   * notices when they stop; PCI DSS 4.0 10.7.2), with when the next one is due and what was
   * recorded and dropped since the last. One more, `reason: 'close'`, when the auditor closes after
   * at least one. `false` records none.
   * @default 60
   */
  heartbeat?: number | false;
  /**
   * Which events are recorded: ordered rules, the first that matches an event decides (`'skip'`
   * or `'record'`); an event no rule matches is recorded. Skipped events reach no sink, no chain
   * and no queue, and are counted in `stats().skipped`. authtrail's own `audit.*` events are
   * always recorded. Manual events (`record()`) go through the policy too.
   * @default [] (every event is recorded)
   * @example
   * policy: [
   *   { action: 'record', route: '/healthz', outcome: 'failure' },
   *   { action: 'skip', route: ['/healthz', '/metrics'] },
   * ]
   */
  policy?: readonly PolicyRule[];
  /** Bounds on untrusted input. */
  limits?: {
    /** Longer bearer tokens are not decoded (reason `token_malformed`). @default 16384 */
    maxTokenLength?: number;
    /** Longest string field kept (user agent, claims ...). @default 512 */
    maxStringLength?: number;
  };
  /**
   * For tests: the time of every event, in Unix milliseconds, asked once per event as it is
   * queued. It replaces the request's arrival time, so events are reproducible. A sealed chain
   * (`keys.chain: { sealing }`) also takes its epoch from it.
   * @default each event keeps the time the request arrived (or was recorded)
   */
  clock?: () => number;
  /**
   * For tests: the id of every event, asked once per event with its time in milliseconds.
   * @default a UUIDv7
   */
  ids?: (timeMs: number) => string;
}

/** Options as core uses them: complete, validated, frozen. */
export interface ResolvedOptions {
  readonly service: string;
  readonly instance: string;
  readonly adapter: string;
  /** The sinks given; undefined when none were, and the auditor picks its default (stdout). */
  readonly sinks: readonly Sink[] | undefined;
  readonly routes: ReadonlyMap<string, RouteKind>;
  /** The compiled `signIn`: undefined when off. */
  readonly signIn: ResolvedSignIn | undefined;
  /** Auditing an OpenID Provider (`routes: 'oidc-provider'`). */
  readonly provider: boolean;
  readonly fingerprintKey: Buffer;
  readonly keyIsEphemeral: boolean;
  readonly pseudonymKey: Buffer | undefined;
  /** The key that signs the hash chain, and its id. */
  readonly chainKey: ChainKey | undefined;
  /** The sealing state file, when the chain is sealed (`keys.chain: { sealing }`) instead. */
  readonly chainSealing: string | undefined;
  /** Where and how often the chain's head is anchored. */
  readonly chainAnchor: { readonly sink: Sink; readonly everyMs: number } | undefined;
  /** Seconds between heartbeats; undefined when off (`heartbeat: false`). */
  readonly heartbeat: number | undefined;
  readonly pseudonymize: boolean;
  readonly profile: boolean;
  /** The `user` option: who the app signed in, from its request. */
  readonly user: ((request: unknown) => unknown) | undefined;
  readonly rolesClaim: string;
  readonly queryAllowList: ReadonlySet<string>;
  readonly requestIdHeader: string;
  readonly verify: Readonly<VerifyOptions> | undefined;
  readonly delivery: DeliveryOptions & { readonly handleSignals: boolean };
  readonly limits: { readonly maxTokenLength: number; readonly maxStringLength: number };
  /** The compiled `policy`: undefined when every event is recorded. */
  readonly policy: PolicyCheck | undefined;
  /** How many rules the policy has (for the per-rule counts of `stats().skippedByRule`). */
  readonly policyRules: number;
  /** Injected clock and id source (tests only); undefined in production. */
  readonly clock: (() => number) | undefined;
  readonly ids: ((timeMs: number) => string) | undefined;
}

const TOP_LEVEL = [
  'service',
  'sinks',
  'routes',
  'signIn',
  'keys',
  'pseudonymize',
  'profile',
  'user',
  'rolesClaim',
  'queryAllowList',
  'requestIdHeader',
  'verify',
  'delivery',
  'limits',
  'chainAnchor',
  'heartbeat',
  'policy',
  'clock',
  'ids',
] as const;
// The call problems name: the adapters' factory is `authtrail`; everything else (the jest kit
// included) calls createAuditor.
const ADAPTERS = new Set(['express', 'koa', 'fastify']);

type Check = OptionCheck<Record<string, unknown>>;

/**
 * Validates options and fills in defaults: the only place defaults live. Throws one
 * `AuthtrailError` (`ERR_AUTHTRAIL_INVALID_OPTIONS`) listing every problem found, each named as
 * `createAuditor({ delivery.maxBatch })` (`authtrail({ ... })` from an adapter). Each section of
 * the options has its own resolver below, all reporting on one check.
 */
export function resolveOptions(
  input: unknown,
  adapter = 'core',
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const fn = ADAPTERS.has(adapter) ? 'authtrail' : 'createAuditor';
  const check = checkOptions<Record<string, unknown>>(fn, input as Record<string, unknown>, '');
  const { o } = check;
  if (o.auditor !== undefined)
    // Adapters take `auditor` to share one; createAuditor makes one, so it has no use for it.
    check.issue(
      'auditor',
      shapeOf(o.auditor),
      'pass the auditor to the adapter, not to createAuditor: authtrail({ auditor })',
    );
  const others = { ...o };
  delete others.auditor;
  check.known('', others, TOP_LEVEL);

  const service = resolveService(check, env);
  const sinks = resolveSinks(check);
  const keys = resolveKeys(check, env);
  const chainAnchor = resolveChainAnchor(check, keys, sinks);
  const user = resolveUser(check, keys);
  const policy = compilePolicy(o.policy, check);
  const resolved = {
    service,
    instance: `${hostname()}/${process.pid}`,
    adapter,
    sinks,
    routes: resolveRoutes(check),
    signIn: compileSignIn(o.signIn, check),
    provider: o.routes === 'oidc-provider',
    fingerprintKey: keys.fingerprint ?? randomBytes(32),
    keyIsEphemeral: keys.fingerprint === undefined,
    pseudonymKey: keys.pseudonym,
    chainKey: keys.chain,
    chainSealing: keys.sealing,
    chainAnchor,
    heartbeat: resolveHeartbeat(check),
    ...user,
    ...resolveRequest(check),
    verify: checkVerifyOptions(o.verify, check),
    delivery: resolveDelivery(check),
    limits: resolveLimits(check),
    policy,
    policyRules: policy && Array.isArray(o.policy) ? o.policy.length : 0,
    ...resolveTestHooks(check),
  };
  check.done();
  return Object.freeze(resolved);
}

function resolveService(check: Check, env: NodeJS.ProcessEnv): string {
  const given = check.o.service;
  const named: unknown = given ?? env.OTEL_SERVICE_NAME ?? env.npm_package_name ?? 'app';
  // It is in every event (observer.service), so it is cleaned like every string from outside: an
  // environment variable can carry U+2028 or a terminal escape as easily as a header can.
  const service = clean(named, 256);
  if (service === undefined || service === '' || (named as string).length > 256)
    check.issue(
      'service',
      given === undefined ? `${shapeOf(named)} from the environment` : shapeOf(given),
      'use a non-empty string of at most 256 characters such as "billing-api"',
    );
  return service ?? '';
}

/** The sinks given, checked; undefined when none were (the auditor then writes to stdout). */
function resolveSinks(check: Check): Sink[] | undefined {
  const given = check.o.sinks;
  if (given === undefined) return undefined;
  if (!Array.isArray(given) || given.length === 0) {
    check.issue(
      'sinks',
      shapeOf(given),
      'use a non-empty array such as [stdoutSink()] or [fileSink("audit.log")]',
    );
    return [];
  }
  const sinks: Sink[] = [];
  given.forEach((s: unknown, i) => {
    if (s === null || typeof s !== 'object' || typeof (s as Sink).write !== 'function')
      check.issue(
        `sinks[${i}]`,
        shapeOf(s),
        'use a sink such as stdoutSink(), fileSink(path), memorySink() or callbackSink(fn)',
      );
    else sinks.push(s as Sink);
  });
  return sinks;
}

function resolveRoutes(check: Check): ReadonlyMap<string, RouteKind> {
  const routes = check.o.routes;
  if (routes === 'oidc-provider') return new Map();
  return compileRoutes(routes as RouteOptions | undefined, check);
}

interface Keys {
  readonly fingerprint: Buffer | undefined;
  readonly pseudonym: Buffer | undefined;
  readonly chain: ChainKey | undefined;
  readonly sealing: string | undefined;
  /** Whether a chain was asked for (a key, a list, `{ sealing }` or AUTHTRAIL_CHAIN_KEY). */
  readonly chained: boolean;
  /** Whether `keys.pseudonym` was given at all (a bad one is reported once, as itself). */
  readonly pseudonymGiven: boolean;
}

const KEY_FIX = 'use at least 32 bytes of secret, e.g. `openssl rand -base64 32`';

/**
 * `keys`: secrets of at least 32 bytes. A key read from the environment is named by the option it
 * stands for, the variable in what was received: the fix is the same, the place to make it is not.
 */
function resolveKeys(check: Check, env: NodeJS.ProcessEnv): Keys {
  const keys =
    check.object(
      'keys',
      check.o.keys,
      'use { fingerprint?: string, pseudonym?: string, chain?: string }',
    ) ?? {};
  const read = (path: string, value: unknown, from?: string): Buffer | undefined => {
    if (value === undefined) return undefined;
    const buf =
      typeof value === 'string' || value instanceof Uint8Array ? Buffer.from(value) : undefined;
    if (buf && buf.length >= 32) return buf;
    check.issue(path, from ? `${shapeOf(value)} from ${from}` : shapeOf(value), KEY_FIX);
    return undefined;
  };
  const fingerprint =
    keys.fingerprint !== undefined
      ? read('keys.fingerprint', keys.fingerprint)
      : read('keys.fingerprint', env.AUTHTRAIL_FINGERPRINT_KEY, 'AUTHTRAIL_FINGERPRINT_KEY');
  const pseudonym = read('keys.pseudonym', keys.pseudonym);

  let chain: ChainKey | undefined;
  let sealing: string | undefined;
  const given = keys.chain;
  if (
    typeof given === 'object' &&
    given !== null &&
    !Array.isArray(given) &&
    !(given instanceof Uint8Array)
  ) {
    // Read when the auditor is made (a resource, like the log): here only its shape.
    const path = (given as { sealing?: unknown }).sealing;
    if (typeof path === 'string' && path !== '') sealing = path;
    else
      check.issue(
        'keys.chain.sealing',
        shapeOf(path),
        'use the path of the state file made by `authtrail keys --setup <path>`',
      );
  } else if (Array.isArray(given)) {
    if (given.length === 0)
      check.issue('keys.chain', shapeOf(given), 'use a key, or a list of { id, key }');
    given.forEach((entry: unknown, i) => {
      const { id, key } = (entry ?? {}) as { id?: unknown; key?: unknown };
      if (typeof id !== 'string' || !/^[\w.-]{1,64}$/.test(id))
        check.issue(
          `keys.chain[${i}].id`,
          shapeOf(id),
          'use 1 to 64 letters, digits, "_", "." or "-", e.g. "2026-12"',
        );
      const buf = read(`keys.chain[${i}].key`, key);
      if (i === 0 && buf && typeof id === 'string') chain = { id, key: buf };
    });
  } else {
    const buf =
      given !== undefined
        ? read('keys.chain', given)
        : read('keys.chain', env.AUTHTRAIL_CHAIN_KEY, 'AUTHTRAIL_CHAIN_KEY');
    if (buf) chain = { id: chainKeyId(buf), key: buf };
  }
  return {
    fingerprint,
    pseudonym,
    chain,
    sealing,
    chained: given !== undefined || env.AUTHTRAIL_CHAIN_KEY !== undefined,
    pseudonymGiven: keys.pseudonym !== undefined,
  };
}

function resolveChainAnchor(
  check: Check,
  keys: Keys,
  sinks: readonly Sink[] | undefined,
): ResolvedOptions['chainAnchor'] {
  if (check.o.chainAnchor === undefined) return undefined;
  const { sink, everyMs = 60_000 } = (check.o.chainAnchor ?? {}) as {
    sink?: Sink;
    everyMs?: unknown;
  };
  if (typeof sink?.write !== 'function')
    check.issue(
      'chainAnchor.sink',
      shapeOf(sink),
      'use a sink on another host, e.g. httpSink(url)',
    );
  if (!(Number.isInteger(everyMs) && (everyMs as number) >= 10))
    check.issue(
      'chainAnchor.everyMs',
      shapeOf(everyMs),
      'use a whole number of milliseconds, at least 10',
    );
  if (!keys.chained)
    check.issue(
      'chainAnchor',
      'no keys.chain',
      'set keys.chain: anchors are heads of the hash chain',
    );
  if (!(sinks ?? []).some((s) => typeof s.chainState === 'string'))
    check.issue(
      'chainAnchor',
      'no fileSink in sinks',
      'add a fileSink: an anchor names the last event it wrote',
    );
  if (typeof sink?.write !== 'function' || !Number.isInteger(everyMs)) return undefined;
  return Object.freeze({ sink, everyMs: everyMs as number });
}

/** `heartbeat`: seconds from 1 to a day, or `false`. */
function resolveHeartbeat(check: Check): number | undefined {
  const given = check.o.heartbeat;
  if (given === false) return undefined;
  if (given === undefined) return 60;
  if (Number.isInteger(given) && (given as number) >= 1 && (given as number) <= 86_400)
    return given as number;
  check.issue(
    'heartbeat',
    shapeOf(given),
    'use a whole number of seconds from 1 to 86400, or false to record no heartbeat',
  );
  return 60;
}

/** Who is logged and how: `pseudonymize`, `profile`, `user`, `rolesClaim`. */
function resolveUser(check: Check, keys: Keys) {
  const { o } = check;
  const pseudonymize = check.bool('pseudonymize', o.pseudonymize, false);
  const profile = check.bool('profile', o.profile, false);
  if (pseudonymize && !keys.pseudonymGiven)
    check.issue(
      'keys.pseudonym',
      shapeOf(undefined),
      'pseudonymize needs a stable secret of 32+ bytes so pseudonyms stay the same across restarts and instances',
    );
  if (pseudonymize && profile)
    check.issue(
      'profile',
      shapeOf(true),
      'profile logs names and e-mails, which pseudonymize exists to hide: turn one off',
    );
  if (o.user !== undefined && typeof o.user !== 'function')
    check.issue(
      'user',
      shapeOf(o.user),
      'use a function of the request, e.g. (req) => req.session.claims',
    );
  return {
    pseudonymize,
    profile,
    user: typeof o.user === 'function' ? (o.user as (request: unknown) => unknown) : undefined,
    rolesClaim: text(check, 'rolesClaim', 'roles'),
  };
}

/** What is read from each request: `queryAllowList`, `requestIdHeader`. */
function resolveRequest(check: Check) {
  const given = check.o.queryAllowList;
  let queryAllowList: readonly string[] = ['error'];
  if (given !== undefined) {
    if (Array.isArray(given) && given.every((q) => typeof q === 'string')) queryAllowList = given;
    else
      check.issue(
        'queryAllowList',
        shapeOf(given),
        'use an array of parameter names, e.g. ["page", "sort"]',
      );
  }
  return {
    queryAllowList: new Set(queryAllowList) as ReadonlySet<string>,
    requestIdHeader: text(check, 'requestIdHeader', 'x-request-id').toLowerCase(),
  };
}

/** A non-empty string option, or `fallback` when absent. */
function text(check: Check, name: string, fallback: string): string {
  const v = check.o[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') check.issue(name, shapeOf(v), 'use a non-empty string');
  return String(v);
}

const OVERFLOW = ['drop', 'spill', 'block'] as const;

function resolveDelivery(check: Check): ResolvedOptions['delivery'] {
  const d = check.object('delivery', check.o.delivery, 'use an object') ?? {};
  const int = (name: string, fallback: number, min: number, max: number) =>
    check.int(`delivery.${name}`, d[name], fallback, min, max);
  const overflow = check.oneOf('delivery.overflow', d.overflow, OVERFLOW, 'drop');
  let spillDir: string | undefined;
  if (typeof d.spillDir === 'string' && d.spillDir !== '') spillDir = d.spillDir;
  else if (d.spillDir !== undefined)
    check.issue(
      'delivery.spillDir',
      shapeOf(d.spillDir),
      'use the path of a directory that survives restarts',
    );
  else if (overflow === 'spill')
    check.issue(
      'delivery.spillDir',
      shapeOf(undefined),
      "overflow: 'spill' needs a directory for its spill files, e.g. spillDir: '/var/lib/myapp/audit-spill'",
    );
  return Object.freeze({
    maxQueue: int('maxQueue', 10_000, 1, 10_000_000),
    maxBatch: int('maxBatch', 512, 1, 100_000),
    maxWaitMs: int('maxWaitMs', 0, 0, 60_000),
    maxBytes: int('maxBytes', 32 * 1024 * 1024, 1024, 2 ** 40),
    overflow,
    spillDir,
    retries: int('retries', 5, 0, 1000),
    minDelayMs: int('minRetryDelayMs', 100, 1, 600_000),
    maxDelayMs: int('maxRetryDelayMs', 5000, 1, 3_600_000),
    closeTimeoutMs: int('closeTimeoutMs', 5000, 0, 3_600_000),
    handleSignals: check.bool('delivery.handleSignals', d.handleSignals, true),
  });
}

function resolveLimits(check: Check): ResolvedOptions['limits'] {
  const l = check.object('limits', check.o.limits, 'use an object') ?? {};
  return Object.freeze({
    maxTokenLength: check.int('limits.maxTokenLength', l.maxTokenLength, 16_384, 64, 1_048_576),
    maxStringLength: check.int('limits.maxStringLength', l.maxStringLength, 512, 16, 65_536),
  });
}

/** `clock` and `ids`: for tests only. */
function resolveTestHooks(check: Check) {
  const fn = <F>(name: 'clock' | 'ids', example: string): F | undefined => {
    const v = check.o[name];
    if (v !== undefined && typeof v !== 'function')
      check.issue(name, shapeOf(v), `use a function, e.g. ${example}`);
    return typeof v === 'function' ? (v as F) : undefined;
  };
  return {
    clock: fn<() => number>('clock', '() => Date.UTC(2025, 0, 1)'),
    ids: fn<(timeMs: number) => string>('ids', '() => `event-${++n}`'),
  };
}
