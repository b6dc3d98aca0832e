// What every answer of the console carries, and how JSON goes out.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** No inline script or style, nothing from another origin, no framing. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Set on every response, before anything else is written. */
export function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export const JSON_TYPE = 'application/json; charset=utf-8';

// `<` and `>` (no byte of an answer can close or open a tag, whatever reads it as HTML), the line
// separators old JavaScript parsers choke on, and the bidirectional marks and overrides (a value
// cannot reorder what a viewer of the raw answer sees).
const ESCAPED = /[<>\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with {@link ESCAPED} characters as `\uXXXX`: parsed back, every value is unchanged. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    ESCAPED,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A JSON answer: `application/json; charset=utf-8`, never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = safeJson(body);
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** `{ error: { code, message } }`: a stable code, a sentence; never a stack nor a secret. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): void {
  sendJson(res, status, { error: { code, message, ...extra } });
}

/** One cookie's value from the Cookie header, or undefined. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request reached this server over TLS. */
export function isHttps(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** One header's value as a string (the first, if repeated), bounded. */
export function header(req: IncomingMessage, name: string, max = 1024): string | undefined {
  const value = req.headers[name];
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one.slice(0, max) : undefined;
}
