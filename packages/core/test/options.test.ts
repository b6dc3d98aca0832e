import { createAuditor, memorySink } from '@authtrail/core';
// resolveOptions is internal, in neither entry of the package: tested from source, with the error
// class of the same source (toBeInstanceOf compares classes, and the build has its own copy).
import { AuthtrailError } from '../src/errors.js';
import { resolveOptions } from '../src/options.js';

const KEY = 'k'.repeat(32);

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
      ].sort(),
    );
    expect(err.message).toContain('7 problems');
    expect(err.message).toContain(
      'keys.fingerprint: received a string of 5 characters; use at least 32 bytes',
    );
    expect(err.message).toContain(
      'delivery.maxQueue: received number -1; use a whole number from 1 to',
    );
    // An unknown option's name is shown, its value only described: it may be a secret.
    expect(err.message).toContain('colour: received a string of 4 characters; unknown option');
  });

  test('requires a stable pseudonym key when users are pseudonymised, and refuses profile fields with it', () => {
    const err = issuesOf(() => resolveOptions({ pseudonymize: true, profile: true }));
    expect(err.issues.map((i) => i.path)).toEqual(['keys.pseudonym', 'profile']);
    expect(err.issues[0]!.fix).toMatch(/stable secret of 32\+ bytes/);
  });

  test('rejects a non-object, duplicate route paths, and unknown route names', () => {
    expect(issuesOf(() => resolveOptions('express')).issues[0]!.path).toBe('options');
    const err = issuesOf(() =>
      resolveOptions({ routes: { login: '/auth', callback: '/auth', signin: '/x' } }),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual(['routes.callback', 'routes.signin']);
    expect(issuesOf(() => resolveOptions({ routes: 'keycloak' })).issues[0]!.fix).toMatch(
      /express-openid-connect/,
    );
  });

  test('fills defaults: stdout sink, express-openid-connect routes, a random key flagged as ephemeral', () => {
    const o = resolveOptions(undefined, 'core', {});
    expect(o.sinks.map((s) => s.name)).toEqual(['stdout']);
    expect([...o.routes]).toEqual([
      ['/login', 'login'],
      ['/callback', 'callback'],
      ['/logout', 'logout'],
      ['/backchannel-logout', 'backchannel_logout'],
    ]);
    expect(o.ephemeralKey).toBe(true);
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
    expect(o.ephemeralKey).toBe(false);
    expect(o.fingerprintKey.toString()).toBe(KEY);
    expect(o.service).toBe('billing');
    const err = issuesOf(() => resolveOptions({}, 'core', { AUTHTRAIL_FINGERPRINT_KEY: 'short' }));
    expect(err.issues[0]!.path).toBe('keys.fingerprint (from AUTHTRAIL_FINGERPRINT_KEY)');
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
