import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeliveryOptions } from './delivery/queue.js';
import { invalidOptions, shapeOf, type OptionIssue } from './errors.js';
import { chainKeyId, type ChainKey } from './integrity/chain.js';
import { compileRoutes, type RouteKind, type RouteOptions } from './classify.js';
import { compilePolicy, type PolicyCheck, type PolicyRule } from './policy.js';
import { compileSignIn, type ResolvedSignIn, type SignInOptions } from './sign-in.js';
import { clean } from './redact.js';
import { stdoutSink } from './sinks/stdout.js';
import type { Sink } from './types.js';
import { DEFAULT_ALGORITHMS, type VerifyOptions } from './verify-options.js';

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
  readonly sinks: readonly Sink[];
  readonly routes: ReadonlyMap<string, RouteKind>;
  /** The compiled `signIn`: undefined when off. */
  readonly signIn: ResolvedSignIn | undefined;
  /** Auditing an OpenID Provider (`routes: 'oidc-provider'`). */
  readonly provider: boolean;
  readonly fingerprintKey: Buffer;
  readonly ephemeralKey: boolean;
  readonly pseudonymKey: Buffer | undefined;
  /** The key that signs the hash chain, and its id. */
  readonly chainKey: ChainKey | undefined;
  /** The sealing state file, when the chain is sealed (`keys.chain: { sealing }`) instead. */
  readonly chainSealing: string | undefined;
  /** Where and how often the chain's head is anchored. */
  readonly chainAnchor: { readonly sink: Sink; readonly everyMs: number } | undefined;
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

const TOP_LEVEL = new Set([
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
  'policy',
  'clock',
  'ids',
]);
// Adapters add their own options (`auditor`, ...) and pass the rest here.
const ADAPTER_KEYS = new Set(['auditor']);

/**
 * Validates options and fills in defaults: the only place defaults live. Throws one
 * `AuthtrailError` (`ERR_AUTHTRAIL_INVALID_OPTIONS`) listing every problem found.
 */
export function resolveOptions(
  input: unknown,
  adapter = 'core',
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const issues: OptionIssue[] = [];
  // `choices`: the option takes one of these words, so a mistyped word is worth showing.
  const bad = (path: string, value: unknown, fix: string, choices?: readonly string[]) =>
    issues.push({ path, received: shapeOf(value, choices), fix });

  if (
    input !== undefined &&
    (input === null || typeof input !== 'object' || Array.isArray(input))
  ) {
    throw invalidOptions([
      { path: 'options', received: shapeOf(input), fix: 'pass an options object or nothing' },
    ]);
  }
  const o = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!TOP_LEVEL.has(key) && !ADAPTER_KEYS.has(key)) {
      bad(key, o[key], `unknown option; known options are ${[...TOP_LEVEL].join(', ')}`);
    }
  }

  const named: unknown = o.service ?? env.OTEL_SERVICE_NAME ?? env.npm_package_name ?? 'app';
  // It is in every event (observer.service), so it is cleaned like every string from outside: an
  // environment variable can carry U+2028 or a terminal escape as easily as a header can.
  const service = clean(named, 256);
  if (service === undefined || service === '' || (named as string).length > 256)
    bad(
      'service',
      o.service,
      'use a non-empty string of at most 256 characters such as "billing-api"',
    );

  let sinks: Sink[] = [];
  if (o.sinks === undefined) sinks = [stdoutSink()];
  else if (!Array.isArray(o.sinks) || o.sinks.length === 0) {
    bad(
      'sinks',
      o.sinks,
      'use a non-empty array such as [stdoutSink()] or [fileSink("audit.log")]',
    );
  } else {
    o.sinks.forEach((s: unknown, i) => {
      if (s === null || typeof s !== 'object' || typeof (s as Sink).write !== 'function') {
        bad(
          `sinks[${i}]`,
          s,
          'use a sink such as stdoutSink(), fileSink(path), memorySink() or callbackSink(fn)',
        );
      } else sinks.push(s as Sink);
    });
  }

  let routes: ReadonlyMap<string, RouteKind> = new Map();
  try {
    if (o.routes !== 'oidc-provider') routes = compileRoutes(o.routes as RouteOptions | undefined);
  } catch (err) {
    for (const issue of (err as { issues?: OptionIssue[] }).issues ?? []) issues.push(issue);
  }

  const keys = (o.keys ?? {}) as Record<string, unknown>;
  if (o.keys !== undefined && (o.keys === null || typeof o.keys !== 'object')) {
    bad('keys', o.keys, 'use { fingerprint?: string, pseudonym?: string, chain?: string }');
  }
  const readKey = (name: string, value: unknown): Buffer | undefined => {
    if (value === undefined) return undefined;
    const buf =
      typeof value === 'string'
        ? Buffer.from(value)
        : value instanceof Uint8Array
          ? Buffer.from(value)
          : undefined;
    if (!buf || buf.length < 32) {
      issues.push({
        path: `keys.${name}`,
        received: shapeOf(value),
        fix: 'use at least 32 bytes of secret, e.g. `openssl rand -base64 32`',
      });
      return undefined;
    }
    return buf;
  };
  const fromEnv = keys.fingerprint === undefined ? env.AUTHTRAIL_FINGERPRINT_KEY : undefined;
  const fingerprintKey = readKey(
    fromEnv !== undefined ? 'fingerprint (from AUTHTRAIL_FINGERPRINT_KEY)' : 'fingerprint',
    keys.fingerprint ?? fromEnv,
  );
  const pseudonymKey = readKey('pseudonym', keys.pseudonym);
  const chainFromEnv = keys.chain === undefined ? env.AUTHTRAIL_CHAIN_KEY : undefined;
  let chainKey: ChainKey | undefined;
  let chainSealing: string | undefined;
  const sealed = keys.chain as { sealing?: unknown } | undefined;
  if (
    typeof sealed === 'object' &&
    sealed !== null &&
    !Array.isArray(sealed) &&
    !(sealed instanceof Uint8Array)
  ) {
    // Read when the auditor is made (a resource, like the log): here only its shape.
    if (typeof sealed.sealing === 'string' && sealed.sealing !== '') chainSealing = sealed.sealing;
    else
      bad(
        'keys.chain.sealing',
        sealed.sealing,
        'use the path of the state file made by `authtrail keys --setup <path>`',
      );
  } else if (Array.isArray(keys.chain)) {
    if (keys.chain.length === 0)
      bad('keys.chain', keys.chain, 'use a key, or a list of { id, key }');
    (keys.chain as unknown[]).forEach((entry, i) => {
      const { id, key } = (entry ?? {}) as { id?: unknown; key?: unknown };
      if (typeof id !== 'string' || !/^[\w.-]{1,64}$/.test(id))
        bad(
          `keys.chain[${i}].id`,
          id,
          'use 1 to 64 letters, digits, "_", "." or "-", e.g. "2026-12"',
        );
      const buf = readKey(`chain[${i}].key`, key);
      if (i === 0 && buf && typeof id === 'string') chainKey = { id, key: buf };
    });
  } else {
    const buf = readKey(
      chainFromEnv !== undefined ? 'chain (from AUTHTRAIL_CHAIN_KEY)' : 'chain',
      keys.chain ?? chainFromEnv,
    );
    if (buf) chainKey = { id: chainKeyId(buf), key: buf };
  }
  let chainAnchor: ResolvedOptions['chainAnchor'];
  if (o.chainAnchor !== undefined) {
    const { sink, everyMs = 60_000 } = (o.chainAnchor ?? {}) as { sink?: Sink; everyMs?: unknown };
    if (typeof sink?.write !== 'function')
      bad('chainAnchor.sink', sink, 'use a sink on another host, e.g. httpSink(url)');
    if (!(Number.isInteger(everyMs) && (everyMs as number) >= 10))
      bad('chainAnchor.everyMs', everyMs, 'use a whole number of milliseconds, at least 10');
    if (keys.chain === undefined && chainFromEnv === undefined)
      issues.push({
        path: 'chainAnchor',
        received: 'no keys.chain',
        fix: 'set keys.chain: anchors are heads of the hash chain',
      });
    if (!sinks.some((s) => typeof s.chainState === 'string'))
      issues.push({
        path: 'chainAnchor',
        received: 'no fileSink in sinks',
        fix: 'add a fileSink: an anchor names the last event it wrote',
      });
    if (typeof sink?.write === 'function' && Number.isInteger(everyMs))
      chainAnchor = Object.freeze({ sink, everyMs: everyMs as number });
  }

  const bool = (name: string, fallback: boolean): boolean => {
    const v = o[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') bad(name, v, 'use true or false');
    return v === true;
  };
  const pseudonymize = bool('pseudonymize', false);
  const profile = bool('profile', false);
  if (pseudonymize && !pseudonymKey && keys.pseudonym === undefined) {
    bad(
      'keys.pseudonym',
      undefined,
      'pseudonymize needs a stable secret of 32+ bytes so pseudonyms stay the same across restarts and instances',
    );
  }
  if (pseudonymize && profile)
    bad(
      'profile',
      true,
      'profile logs names and e-mails, which pseudonymize exists to hide: turn one off',
    );

  const str = (name: string, fallback: string): string => {
    const v = o[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v === '') bad(name, v, 'use a non-empty string');
    return String(v);
  };
  const rolesClaim = str('rolesClaim', 'roles');
  const requestIdHeader = str('requestIdHeader', 'x-request-id').toLowerCase();

  let queryAllowList: string[] = ['error'];
  if (o.queryAllowList !== undefined) {
    if (!Array.isArray(o.queryAllowList) || o.queryAllowList.some((q) => typeof q !== 'string')) {
      bad(
        'queryAllowList',
        o.queryAllowList,
        'use an array of parameter names, e.g. ["page", "sort"]',
      );
    } else queryAllowList = o.queryAllowList as string[];
  }

  const int = (
    path: string,
    group: unknown,
    name: string,
    fallback: number,
    min: number,
    max: number,
  ): number => {
    const v = (group as Record<string, unknown> | undefined)?.[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      bad(`${path}.${name}`, v, `use a whole number from ${min} to ${max}`);
      return fallback;
    }
    return v;
  };
  for (const group of ['delivery', 'limits'] as const) {
    if (o[group] !== undefined && (o[group] === null || typeof o[group] !== 'object'))
      bad(group, o[group], 'use an object');
  }
  const d = (o.delivery ?? {}) as Record<string, unknown>;
  const oneOf = <T extends string>(
    path: string,
    v: unknown,
    allowed: readonly T[],
    fallback: T,
  ): T => {
    if (v === undefined) return fallback;
    if (allowed.includes(v as T)) return v as T;
    bad(path, v, `use one of ${allowed.map((a) => `'${a}'`).join(', ')}`, allowed);
    return fallback;
  };
  const delivery = Object.freeze({
    maxQueue: int('delivery', o.delivery, 'maxQueue', 10_000, 1, 10_000_000),
    maxBatch: int('delivery', o.delivery, 'maxBatch', 512, 1, 100_000),
    maxWaitMs: int('delivery', o.delivery, 'maxWaitMs', 0, 0, 60_000),
    maxBytes: int('delivery', o.delivery, 'maxBytes', 32 * 1024 * 1024, 1024, 2 ** 40),
    overflow: oneOf('delivery.overflow', d.overflow, ['drop', 'spill', 'block'] as const, 'drop'),
    spillDir: typeof d.spillDir === 'string' && d.spillDir !== '' ? d.spillDir : undefined,
    retries: int('delivery', o.delivery, 'retries', 5, 0, 1000),
    minDelayMs: int('delivery', o.delivery, 'minRetryDelayMs', 100, 1, 600_000),
    maxDelayMs: int('delivery', o.delivery, 'maxRetryDelayMs', 5000, 1, 3_600_000),
    closeTimeoutMs: int('delivery', o.delivery, 'closeTimeoutMs', 5000, 0, 3_600_000),
    handleSignals: d.handleSignals !== false,
  });
  if (d.handleSignals !== undefined && typeof d.handleSignals !== 'boolean')
    bad('delivery.handleSignals', d.handleSignals, 'use true or false');
  if (d.spillDir !== undefined && (typeof d.spillDir !== 'string' || d.spillDir === ''))
    bad('delivery.spillDir', d.spillDir, 'use the path of a directory that survives restarts');
  if (delivery.overflow === 'spill' && delivery.spillDir === undefined)
    bad(
      'delivery.spillDir',
      undefined,
      "overflow: 'spill' needs a directory for its spill files, e.g. spillDir: '/var/lib/myapp/audit-spill'",
    );
  const limits = Object.freeze({
    maxTokenLength: int('limits', o.limits, 'maxTokenLength', 16_384, 64, 1_048_576),
    maxStringLength: int('limits', o.limits, 'maxStringLength', 512, 16, 65_536),
  });

  const verify = resolveVerify(o.verify, bad);
  const policy = compilePolicy(o.policy, issues);
  const signIn = compileSignIn(o.signIn, issues);

  const fn = <F>(name: 'clock' | 'ids', example: string): F | undefined => {
    const v = o[name];
    if (v !== undefined && typeof v !== 'function') bad(name, v, `use a function, e.g. ${example}`);
    return typeof v === 'function' ? (v as F) : undefined;
  };
  const user = o.user;
  if (user !== undefined && typeof user !== 'function')
    bad('user', user, 'use a function of the request, e.g. (req) => req.session.claims');
  const clock = fn<() => number>('clock', '() => Date.UTC(2025, 0, 1)');
  const ids = fn<(timeMs: number) => string>('ids', '() => `event-${++n}`');

  if (issues.length > 0) throw invalidOptions(issues);

  return Object.freeze({
    service: service as string,
    instance: `${hostname()}/${process.pid}`,
    adapter,
    sinks: Object.freeze(sinks),
    routes,
    signIn,
    provider: o.routes === 'oidc-provider',
    fingerprintKey: fingerprintKey ?? randomBytes(32),
    ephemeralKey: fingerprintKey === undefined,
    pseudonymKey,
    chainKey,
    chainSealing,
    chainAnchor,
    pseudonymize,
    profile,
    user: typeof user === 'function' ? (user as (request: unknown) => unknown) : undefined,
    rolesClaim,
    queryAllowList: new Set(queryAllowList),
    requestIdHeader,
    verify,
    delivery,
    limits,
    policy,
    policyRules: policy && Array.isArray(o.policy) ? o.policy.length : 0,
    clock,
    ids,
  });
}

function isUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

function resolveVerify(
  value: unknown,
  bad: (path: string, value: unknown, fix: string) => void,
): Readonly<VerifyOptions> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    bad(
      'verify',
      value,
      "use { issuer: 'https://login.example.com', audience: 'https://api.example.com' }",
    );
    return undefined;
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!['issuer', 'audience', 'jwksUri', 'algorithms', 'clockTolerance'].includes(key)) {
      bad(
        `verify.${key}`,
        v[key],
        'unknown option; known options are issuer, audience, jwksUri, algorithms, clockTolerance',
      );
    }
  }
  if (!isUrl(v.issuer))
    bad('verify.issuer', v.issuer, "use the issuer URL exactly as in the tokens' iss claim");
  const audiences = Array.isArray(v.audience) ? v.audience : [v.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    bad(
      'verify.audience',
      v.audience,
      'use the API identifier the tokens carry in aud (a string or an array of strings)',
    );
  }
  if (v.jwksUri !== undefined && !isUrl(v.jwksUri))
    bad('verify.jwksUri', v.jwksUri, 'use an http(s) URL, or leave it out to use discovery');
  if (v.algorithms !== undefined) {
    const algs = v.algorithms;
    if (
      !Array.isArray(algs) ||
      algs.length === 0 ||
      algs.some((a) => typeof a !== 'string' || !DEFAULT_ALGORITHMS.includes(a))
    ) {
      bad(
        'verify.algorithms',
        algs,
        `use a non-empty subset of ${DEFAULT_ALGORITHMS.join(', ')} (none and HMAC are never accepted)`,
      );
    }
  }
  if (
    v.clockTolerance !== undefined &&
    (typeof v.clockTolerance !== 'number' ||
      !Number.isInteger(v.clockTolerance) ||
      v.clockTolerance < 0 ||
      v.clockTolerance > 300)
  ) {
    bad('verify.clockTolerance', v.clockTolerance, 'use a whole number of seconds from 0 to 300');
  }
  return Object.freeze({ ...(v as unknown as VerifyOptions) });
}
