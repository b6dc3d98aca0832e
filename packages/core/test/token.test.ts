// Token inspection is internal (in neither entry of the package): tested from source.
import { bearerToken, inspectToken } from '../src/token/inspect.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (header: unknown, claims: unknown) => `${b64(header)}.${b64(claims)}.c2ln`;

describe('bearerToken', () => {
  test.each([
    [undefined, undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer abc.def', 'abc.def'],
    ['bearer   abc  ', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer', ''],
    ['Bearer ', ''],
    [['Bearer first', 'Bearer second'], 'first'],
  ])('reads %p as %p', (header, expected) => {
    expect(bearerToken(header as string | undefined)).toBe(expected);
  });
});

describe('inspectToken', () => {
  test('decodes the header and claims of a JWT without verifying it', () => {
    const shape = inspectToken(jwt({ alg: 'RS256' }, { sub: 'u1', scope: 'a b' }), 16384);
    expect(shape).toEqual({
      kind: 'jwt',
      header: { alg: 'RS256' },
      claims: { sub: 'u1', scope: 'a b' },
    });
  });

  test('treats a single opaque string and a five-part JWE as opaque', () => {
    expect(inspectToken('2YotnFZFEjr1zCsicMWpAA', 16384).kind).toBe('opaque');
    expect(inspectToken('a.b.c.d.e', 16384).kind).toBe('opaque');
  });

  test.each([
    ['two parts', 'abc.def'],
    ['four parts', 'a.b.c.d'],
    ['bad base64 JSON', 'eyJhbGciOi.broken.x'],
    ['JSON that is not an object', `${b64([1])}.${b64({})}.x`],
    ['characters outside b64token', 'abc def'],
    ['control characters', 'abc\u0000def'],
    ['empty', ''],
  ])('calls a token with %s malformed', (_name, token) => {
    expect(inspectToken(token, 16384).kind).toBe('malformed');
  });

  test('does not decode a token longer than the bound', () => {
    const big = jwt({ alg: 'none' }, { pad: 'x'.repeat(20000) });
    expect(inspectToken(big, 16384).kind).toBe('malformed');
    expect(inspectToken(big, 65536).kind).toBe('jwt');
  });

  test('keeps a __proto__ claim as plain data without touching prototypes', () => {
    const token = `${b64({ alg: 'HS256' })}.${Buffer.from('{"__proto__":{"polluted":true},"sub":"x"}').toString('base64url')}.s`;
    const shape = inspectToken(token, 16384);
    expect(shape.kind).toBe('jwt');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
