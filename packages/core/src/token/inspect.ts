import type { Claims } from '../types.js';

/** What a bearer token looks like from the outside, before anyone verified it. */
export type TokenShape =
  { kind: 'jwt'; header: Claims; claims: Claims } | { kind: 'opaque' } | { kind: 'malformed' };

// RFC 6750 b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of an `Authorization` header: `undefined` when there is no bearer credential,
 * `''` when the header says Bearer but carries no usable token. Never throws.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.length < 6) return undefined;
  // Scheme names are case-insensitive (RFC 7235); 'Bearer ' as written by every client is checked
  // without making a lower-case copy.
  if (!value.startsWith('Bearer ') && value.slice(0, 7).toLowerCase() !== 'bearer ') {
    return value.length === 6 && value.toLowerCase() === 'bearer' ? '' : undefined;
  }
  return value.slice(7).trim();
}

/**
 * Decodes a token without verifying it. Bounded: a token longer than `maxLength`, or one that is
 * not valid base64url JSON, is `malformed`; a single opaque string (or an encrypted JWE) is
 * `opaque`. Never throws.
 */
export function inspectToken(token: string, maxLength: number): TokenShape {
  if (token === '' || token.length > maxLength || !B64TOKEN.test(token))
    return { kind: 'malformed' };
  const first = token.indexOf('.');
  if (first === -1) return { kind: 'opaque' };
  const second = token.indexOf('.', first + 1);
  if (second === -1) return { kind: 'malformed' };
  if (token.indexOf('.', second + 1) !== -1) {
    // Five parts is a JWE: encrypted, so opaque to us. Anything else is broken.
    return token.split('.').length === 5 ? { kind: 'opaque' } : { kind: 'malformed' };
  }
  const header = decodeSegment(token.slice(0, first));
  const claims = decodeSegment(token.slice(first + 1, second));
  if (header === undefined || claims === undefined) return { kind: 'malformed' };
  return { kind: 'jwt', header, claims };
}

function decodeSegment(segment: string): Claims | undefined {
  if (segment === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Claims)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds since the epoch in a numeric claim, or undefined for anything else. */
export function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
