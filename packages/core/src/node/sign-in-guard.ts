import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The most of a sign-in form core reads itself: a login form is a few hundred bytes, and the bound
 * keeps a locked client from making the process buffer more.
 */
export const FORM_LIMIT = 16 * 1024;

/** {@link readForm}'s answer for a body over {@link FORM_LIMIT}: it cannot be checked. */
export const TOO_LARGE: unique symbol = Symbol('authtrail.tooLarge');

/** What a request whose body was read by {@link readForm} holds for the body parsers after it. */
interface ParsedRequest {
  body?: unknown;
  /** body-parser 1 skips a request with `_body` set; body-parser 2 one whose stream has ended. */
  _body?: boolean;
}

/**
 * Reads a sign-in form's body from the request stream, when the sign-in guard must know the
 * account and no body parser has run yet: `application/x-www-form-urlencoded` (flat fields) or
 * JSON, at most {@link FORM_LIMIT} bytes. The parsed body is left on the request (`req.body`), where
 * the parsers that run later look before reading: Express's body-parser then skips the request
 * (its stream has ended), oidc-provider takes `req.body`. Undefined for another content type (the
 * stream is not touched: the app's parser reads it) or a stream someone else is reading.
 */
export async function readForm(
  req: IncomingMessage,
): Promise<Record<string, unknown> | undefined | typeof TOO_LARGE> {
  // Read before, by this auditor's other adapter (Express in front of the provider's Koa app).
  const parsed = req as IncomingMessage & ParsedRequest;
  if (parsed._body === true && parsed.body !== null && typeof parsed.body === 'object')
    return parsed.body as Record<string, unknown>;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const json = type === 'application/json' || type.endsWith('+json');
  if ((!json && type !== 'application/x-www-form-urlencoded') || !req.readable) return undefined;
  const length = Number(req.headers['content-length']);
  if (length > FORM_LIMIT) return TOO_LARGE;
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    // Not destroyed on an early return: the app still answers a body it could not be given.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > FORM_LIMIT) return TOO_LARGE;
      chunks.push(chunk);
    }
  } catch {
    // The client went away mid-body: nothing to check, and nobody to answer.
    return undefined;
  }
  const text = Buffer.concat(chunks, received).toString('utf8');
  let body: Record<string, unknown> = {};
  if (json) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      // A broken JSON body names no account: the app sees an empty form and refuses it itself.
    }
  } else body = Object.fromEntries(new URLSearchParams(text));
  parsed.body = body;
  parsed._body = true;
  return body;
}

/** The answer to a refused sign-in: no event data, only when to come back. */
export interface LockedAnswer {
  readonly status: 429;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * What adapters answer a sign-in the guard refused: 429 Too Many Requests with `Retry-After` in
 * whole seconds (RFC 9110 section 10.2.3), never cached, and a short text naming nothing.
 */
export function lockedAnswer(seconds: number): LockedAnswer {
  return {
    status: 429,
    headers: {
      'retry-after': String(Math.max(1, Math.ceil(seconds))),
      'cache-control': 'no-store',
      'content-type': 'text/plain; charset=utf-8',
    },
    body: 'Too many failed sign-ins. Try again later.\n',
  };
}

/** Answers a refused sign-in on Node's own response (Express's `res`, Koa's `ctx.res`). */
export function answerLocked(res: ServerResponse, seconds: number): void {
  const answer = lockedAnswer(seconds);
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

/**
 * For adapters: runs `go` when the guard's verdict lets the attempt on (0), else answers `res`
 * with 429 ({@link answerLocked}); at once for a number, once the body was read for a promise.
 */
export function afterVerdict(
  verdict: number | Promise<number>,
  go: () => void,
  res: ServerResponse,
): void {
  if (typeof verdict === 'number') {
    if (verdict > 0) answerLocked(res, verdict);
    else go();
  } else void verdict.then((seconds) => (seconds > 0 ? answerLocked(res, seconds) : go()));
}
