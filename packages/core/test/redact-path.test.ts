import { REDACTED, looksSecret, redactPath, redactQuery } from '../src/redact.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const JWT = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'u1', purpose: 'reset' })}.${'Zm9vYmFy'.repeat(5)}`;
// What applications generate as reset, invite and session tokens.
const TOKENS = {
  'base64url of 32 random bytes': 'q3Vb8-mZ_0xPn2RkLw7tYcJ4sHa9DfEuGi1Ko6NjTrw',
  'hex of 16 random bytes': '9f86d081884c7d659a2feaa0c55ad015',
  'hex of 32 random bytes (Laravel)':
    'a3f5c2e8d1b7094c6e2f8a1d3b5c7e9f0a2c4e6b8d1f3a5c7e9b1d3f5a7c9e1b',
  'Rails has_secure_token (base58, 24)': 'pX7kR2mN9qW4tY6vB8cD3fGh',
  'Django password reset token': 'c4b8zb-8b5d1d0c0b1a7e6f8c8d',
  UUIDv4: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  'nanoid (21)': 'V1StGXR8_Z5jdHi6B-myT',
  'express-session id (32)': 'Xk2pL9vQ-7zRtY4mN8bW_3cF6hJ1sD5g',
  'a JWT': JWT,
};
const path = (p: string, emails = false) => redactPath(p, 1024, emails);

describe('path redaction', () => {
  test.each(Object.entries(TOKENS))('redacts %s as a path segment', (_, token) => {
    expect(path(`/reset-password/${token}`)).toBe(`/reset-password/${REDACTED}`);
    expect(path(`/invite/${token}/accept`)).toBe(`/invite/${REDACTED}/accept`);
  });

  test.each([
    '/api/v1/orders/12345',
    '/users/alice',
    '/api/v2/organizations/42/permissionGroups',
    '/api/users/updateNotificationSettings',
    '/certs/sha256WithRSAEncryption',
    '/packages/fast-json-stringify-compiler',
    '/docs/XMLHttpRequestUpload',
    '/blog/top-10-tips-for-2024',
    '/blog/how-to-configure-your-internationalization-settings',
    '/oauth2/authorize/code_challenge_method',
    '/orders/12345678901234567890',
    '/files/report-2024-q3-final.pdf',
    '/static/js/main.3f2a9c1b.chunk.js',
    '/.well-known/openid-configuration',
    '/users/alice@example.com',
    '/',
    '',
  ])('keeps the ordinary path %j as it is', (p) => {
    expect(path(p)).toBe(p);
  });

  test('redacts a run inside a segment, the whole segment', () => {
    expect(path(`/confirm/token-${TOKENS['hex of 16 random bytes']}.html`)).toBe(
      `/confirm/${REDACTED}`,
    );
  });

  test('judges a percent-encoded segment as a server decodes it', () => {
    const encoded = JWT.replace('e', '%65').replace(/-/g, '%2D');
    expect(path(`/reset/${encoded}`)).toBe(`/reset/${REDACTED}`);
    // A broken escape does not stop the judgement.
    expect(path(`/reset/%zz${TOKENS['hex of 16 random bytes']}`)).toBe(`/reset/${REDACTED}`);
  });

  test('drops everything after a ; in a segment (matrix parameters)', () => {
    expect(path('/app;jsessionid=ABC123/home')).toBe(`/app;${REDACTED}/home`);
    expect(path('/cart;sid=x;v=1')).toBe(`/cart;${REDACTED}`);
  });

  test('redacts e-mail addresses only when pseudonymising, encoded or not', () => {
    expect(path('/users/alice@example.com/orders', true)).toBe(`/users/${REDACTED}/orders`);
    expect(path('/users/alice%40example.com', true)).toBe(`/users/${REDACTED}`);
    expect(path('/@scope/pkg', true)).toBe('/@scope/pkg');
    expect(path('/users/alice', true)).toBe('/users/alice');
  });

  test('keeps only the path of a request target in absolute form', () => {
    expect(path('http://user:hunter2@example.com/a/b')).toBe('/a/b');
    expect(path('http://example.com')).toBe('/');
  });

  test('bounds the path and replaces a segment cut at the bound, which could be half a token', () => {
    // The bound falls 12 characters into the token: too few to judge, still a part of it.
    const token = TOKENS['hex of 32 random bytes (Laravel)'];
    const long = `${'/x'.repeat(500)}/${token}`;
    const out = redactPath(long, 1013 + REDACTED.length, false);
    expect(out).toBe(`${'/x'.repeat(500)}/${REDACTED}`);
    expect(out).not.toContain(token.slice(0, 12));
    expect(redactPath('/p;x'.repeat(300), 1024, false).length).toBeLessThanOrEqual(1024);
  });

  test('removes control characters before judging, so they cannot split a token in two', () => {
    const t = TOKENS['base64url of 32 random bytes'];
    const split = `/reset/${t.slice(0, 12)}\u0000${t.slice(12)}`;
    expect(path(split)).toBe(`/reset/${REDACTED}`);
  });
});

describe('query parameter names', () => {
  const none = new Set<string>();
  test('redacts a name that is a token, keeps ordinary names', () => {
    const token = 'Xk9mP2vL7qR4tW8yZ3bN6cF1gH5j'; // 28 characters
    expect(
      redactQuery(`${token}&redirect_uri=x&code_challenge_method=S256&ui_locales=de`, none, 1024),
    ).toBe(
      `${REDACTED}=${REDACTED}&redirect_uri=${REDACTED}&code_challenge_method=${REDACTED}&ui_locales=${REDACTED}`,
    );
  });
});

describe('looksSecret', () => {
  test('needs 16 characters of the base64url alphabet in one run', () => {
    expect(looksSecret('a1B2c3D4e5F6g7H')).toBe(false); // 15
    expect(looksSecret('a1B2c3D4e5F6g7H8')).toBe(true);
    expect(looksSecret('a1B2c3D4.e5F6g7H8')).toBe(false);
  });
});
