import {
  callbackSink,
  createAuditor,
  elasticsearchBulk,
  fileSink,
  httpSink,
  memorySink,
  splunkHec,
  stdoutSink,
} from '@authtrail/core';
import { authtrail } from '@authtrail/express';
// resolveOptions is internal, in neither entry of the package: tested from source, with the error
// class of the same source (toBeInstanceOf compares classes, and the build has its own copy).
import { AuthtrailError } from '@authtrail/schema';
import { resolveOptions } from '../src/options.js';

const KEY = 'k'.repeat(32);
/** Where core's option `path` is, as problems name it when createAuditor was given it. */
const at = (path: string) => `createAuditor({ ${path} })`;

function issuesOf(fn: () => unknown): AuthtrailError {
  try {
    fn();
  } catch (err) {
    return err as AuthtrailError;
  }
  throw new Error('expected a throw');
}

describe('resolveOptions', () => {
  test('reports every problem at once, each with its option path, what was received and how to fix it', () => {
    const err = issuesOf(() =>
      resolveOptions({
        service: 42,
        sinks: [{}],
        routes: { login: 'not a path?' },
        keys: { fingerprint: 'short' },
        queryAllowList: 'page',
        delivery: { maxQueue: -1 },
        colour: 'blue',
      }),
    );
    expect(err).toBeInstanceOf(AuthtrailError);
    expect(err.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(err.issues.map((i) => i.path).sort()).toEqual(
      [
        'colour',
        'delivery.maxQueue',
        'keys.fingerprint',
        'queryAllowList',
        'routes.login',
        'service',
        'sinks[0]',
      ]
        .map(at)
        .sort(),
    );
    expect(err.message).toContain('7 problems');
    expect(err.message).toContain(
      `${at('keys.fingerprint')}: received a string of 5 characters; use at least 32 bytes`,
    );
    expect(err.message).toContain(
      `${at('delivery.maxQueue')}: received number -1; use a whole number from 1 to`,
    );
    // An unknown option's name is shown, its value only described: it may be a secret.
    expect(err.message).toContain(
      `${at('colour')}: received a string of 4 characters; unknown option`,
    );
  });

  test('requires a stable pseudonym key when users are pseudonymised, and refuses profile fields with it', () => {
    const err = issuesOf(() => resolveOptions({ pseudonymize: true, profile: true }));
    expect(err.issues.map((i) => i.path)).toEqual([at('keys.pseudonym'), at('profile')]);
    expect(err.issues[0]!.fix).toMatch(/stable secret of 32\+ bytes/);
  });

  test('rejects a non-object, duplicate route paths, and unknown route names', () => {
    expect(issuesOf(() => resolveOptions('express')).issues[0]!.path).toBe(
      'createAuditor(options)',
    );
    const err = issuesOf(() =>
      resolveOptions({ routes: { login: '/auth', callback: '/auth', signin: '/x' } }),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      at('routes.callback'),
      at('routes.signin'),
    ]);
    expect(issuesOf(() => resolveOptions({ routes: 'keycloak' })).issues[0]!.fix).toMatch(
      /express-openid-connect/,
    );
  });

  test('fills defaults: express-openid-connect routes, a random key flagged as ephemeral, no sink (the auditor picks stdout)', () => {
    const o = resolveOptions(undefined, 'core', {});
    expect(o.sinks).toBeUndefined();
    expect([...o.routes]).toEqual([
      ['/login', 'login'],
      ['/callback', 'callback'],
      ['/logout', 'logout'],
      ['/backchannel-logout', 'backchannel_logout'],
    ]);
    expect(o.keyIsEphemeral).toBe(true);
    expect(o.fingerprintKey).toHaveLength(32);
    expect(o.service).toBe('app');
    expect(Object.isFrozen(o)).toBe(true);
  });

  test('honours express-openid-connect custom route names, false to turn one off, and its extra keys', () => {
    const o = resolveOptions(
      {
        routes: {
          login: 'signin',
          callback: '/auth/cb',
          logout: false,
          postLogoutRedirect: '/bye',
        },
      },
      'core',
      {},
    );
    expect([...o.routes]).toEqual([
      ['/signin', 'login'],
      ['/auth/cb', 'callback'],
      ['/backchannel-logout', 'backchannel_logout'],
    ]);
  });

  test('reads the fingerprint key and service name from the environment', () => {
    const o = resolveOptions({}, 'core', {
      AUTHTRAIL_FINGERPRINT_KEY: KEY,
      OTEL_SERVICE_NAME: 'billing',
    });
    expect(o.keyIsEphemeral).toBe(false);
    expect(o.fingerprintKey.toString()).toBe(KEY);
    expect(o.service).toBe('billing');
    const err = issuesOf(() => resolveOptions({}, 'core', { AUTHTRAIL_FINGERPRINT_KEY: 'short' }));
    // Named as the option it stands for; the variable is where the value came from.
    expect(err.issues[0]).toMatchObject({
      path: at('keys.fingerprint'),
      received: 'a string of 5 characters from AUTHTRAIL_FINGERPRINT_KEY',
    });
  });

  test('createAuditor throws the typed error at startup', () => {
    expect(() => createAuditor({ sinks: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }),
    );
    expect(() =>
      createAuditor({ sinks: [memorySink()], keys: { fingerprint: KEY } }),
    ).not.toThrow();
  });
});

describe('one notation for every option problem', () => {
  // The call, then the place in it: `fn(<positional>, { dotted.path })`, `fn(<positional>)` for a
  // positional argument, `fn(options)` for the options object itself.
  const NOTATION = /^[a-zA-Z]+\((?:\w+(?:, )?)?(?:\{ [^{}]+ \}|options)?\)$/;

  test('core options, routes, keys, the policy, the sign-in form, the verifier and every sink name their problems as the call they were given in', () => {
    const cases: [() => unknown, string[]][] = [
      [() => resolveOptions('express'), ['createAuditor(options)']],
      [
        () =>
          resolveOptions({
            colour: 1,
            pseudonymize: 'yes',
            delivery: { maxBatch: 0, overflow: 'spil' },
            limits: [],
            keys: { fingerprint: KEY, chain: [{ id: 'no spaces', key: KEY }] },
            clock: 5,
          }),
        [
          'colour',
          'pseudonymize',
          'delivery.maxBatch',
          'delivery.overflow',
          'limits',
          'keys.chain[0].id',
          'clock',
        ].map(at),
      ],
      [
        () =>
          resolveOptions(
            {
              routes: { login: 'a b' },
              policy: [{ action: 'drop' }],
              signIn: { routes: 42 },
              verify: { issuer: 'not a URL', audience: 'api' },
            },
            'express',
          ),
        ['routes.login', 'policy[0].action', 'signIn.routes', 'verify.issuer'].map(
          (p) => `authtrail({ ${p} })`,
        ),
      ],
      [() => resolveOptions({}, 'core', { AUTHTRAIL_CHAIN_KEY: 'short' }), [at('keys.chain')]],
      [
        () =>
          fileSink('audit.jsonl', {
            format: 'xml',
            fsync: 'always',
            maxBytes: 10,
            maxFiles: 0,
          } as never),
        ['format', 'fsync', 'maxBytes', 'maxFiles'].map((p) => `fileSink(path, { ${p} })`),
      ],
      [() => stdoutSink({ format: 'xml' as never }), ['stdoutSink({ format })']],
      [() => memorySink('ecs' as never), ['memorySink(options)']],
      [() => callbackSink(() => {}, { format: 'xml' as never }), ['callbackSink(fn, { format })']],
      [
        () =>
          httpSink('ftp://collector.example.com/in', {
            gzip: 'yes',
            sign: { key: 'short' },
            headers: { 'bad name': 'v' },
          } as never),
        [
          'httpSink(url)',
          'httpSink(url, { gzip })',
          'httpSink(url, { headers["bad name"] })',
          'httpSink(url, { sign.key })',
        ],
      ],
      [() => splunkHec('https://splunk.example.com', {} as never), ['splunkHec(url, { token })']],
      [
        () => elasticsearchBulk('https://es.example.com', { index: 'Audit Logs' }),
        ['elasticsearchBulk(url, { index })'],
      ],
    ];
    for (const [fn, expected] of cases) {
      const error = issuesOf(fn);
      expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
      expect(error.issues.map((i) => i.path).sort()).toEqual([...expected].sort());
      for (const issue of error.issues) {
        expect(issue.path).toMatch(NOTATION);
        expect(error.message).toContain(`  - ${issue.path}: received ${issue.received}; `);
      }
    }
  });

  test('a key read from the environment is named by its option; the variable is said with what was received', () => {
    const error = issuesOf(() => resolveOptions({}, 'core', { AUTHTRAIL_CHAIN_KEY: 'short' }));
    expect(error.issues).toEqual([
      {
        path: 'createAuditor({ keys.chain })',
        received: 'a string of 5 characters from AUTHTRAIL_CHAIN_KEY',
        fix: 'use at least 32 bytes of secret, e.g. `openssl rand -base64 32`',
      },
    ]);
  });

  test('createAuditor({ auditor }) is refused with its fix, and the adapter takes the same auditor', async () => {
    const shared = createAuditor({
      sinks: [memorySink()],
      keys: { fingerprint: KEY },
      delivery: { handleSignals: false },
    });
    const error = issuesOf(() => createAuditor({ auditor: shared } as never));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.issues).toEqual([
      {
        path: 'createAuditor({ auditor })',
        received: 'an object',
        fix: 'pass the auditor to the adapter, not to createAuditor: authtrail({ auditor })',
      },
    ]);
    expect(() => authtrail({ auditor: shared })).not.toThrow();
    await shared.close();
  });

  test('an auditor given no sinks writes to stdout, its own default', async () => {
    const auditor = createAuditor({
      keys: { fingerprint: KEY },
      delivery: { handleSignals: false },
    });
    expect(Object.keys(auditor.stats().sinks)).toEqual(['stdout']);
    await auditor.close();
  });
});
