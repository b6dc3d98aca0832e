import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { AuthtrailError, type EventFormat } from '@authtrail/schema';
import type { Batch } from '../types.js';
import type { HttpTarget } from './http-options.js';

const gzip = promisify(gzipCallback);

/** HMAC-SHA-256 of each body sent: a key of at least 32 bytes, the lowercase header it goes in. */
export interface Signing {
  readonly key: Buffer;
  readonly header: string;
}

/**
 * `ERR_AUTHTRAIL_SINK_WRITE`, plus where the write went (the URL's scheme, host and port: its path
 * can be the collector's credential) and the server's status (absent for network errors and timeouts).
 */
class SinkWriteError extends AuthtrailError {
  constructor(
    message: string,
    override readonly url: string,
    override readonly status: number | undefined,
  ) {
    super('ERR_AUTHTRAIL_SINK_WRITE', message);
  }
}

/**
 * A failed write, to reject `write` with when a 2xx answer still reports a failure (a bulk API's
 * per-item errors): code `ERR_AUTHTRAIL_SINK_WRITE`, so the queue retries the batch. The message
 * names the sink, the URL's origin and why; no path, header or body.
 */
export function writeFailed(t: HttpTarget, why: string, status?: number): AuthtrailError {
  return new SinkWriteError(`${t.name}: POST ${t.shown} ${why}`, t.shown, status);
}

/**
 * The message names the URL and a cause code (ECONNREFUSED, a timeout); undici's error is not kept
 * as `cause`, so nothing of the request can reach a subscriber.
 */
export function requestFailed(t: HttpTarget, error: unknown, what: string): AuthtrailError {
  const e = error as { name?: unknown; cause?: { code?: unknown } } | undefined;
  if (e?.name === 'TimeoutError') return writeFailed(t, `timed out after ${t.timeoutMs} ms`);
  const code = e?.cause?.code;
  return writeFailed(
    t,
    typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? `${what} (${code})` : what,
  );
}

/**
 * What an HTTP sink sends with (see {@link httpSender}): `send` POSTs one body, `close` is the
 * sink's `close()`.
 */
export interface HttpSender {
  /** One POST: gzip, signature, timeout. Resolves with a 2xx response; rejects with an error fit to publish. */
  send(payload: string): Promise<Response>;
  /**
   * Aborts every request in flight and any sent later: the queue has given up on them by the time
   * it closes the sink, and an open request would keep the process alive until its timeout.
   */
  close(): Promise<void>;
}

/**
 * The sending half of every HTTP sink: POSTs a body to the target (gzipped and signed as checked,
 * within its timeout, redirects not followed) and cancels every request in flight on close.
 * Under the delivery contract the sink never retries by itself: `send` rejects with an
 * `AuthtrailError` of code `ERR_AUTHTRAIL_SINK_WRITE` (non-2xx answer, network error, timeout; the
 * message names the URL's origin and the status, never its path, headers or body), the sink's
 * `write` lets it reject, and the auditor's delivery queue retries the batch with exponential
 * backoff and publishes the failure on the `authtrail:sink-error` channel.
 * @example
 * const { send, close } = httpSender(target);
 * const sink: Sink = {
 *   name: target.name,
 *   close,
 *   async write(batch) {
 *     await drain(await send(batch.lines(target.format)));
 *   },
 * };
 */
export function httpSender(t: HttpTarget, sign?: Signing): HttpSender {
  const closing = new AbortController();
  const send = async (payload: string): Promise<Response> => {
    let body: Buffer = Buffer.from(payload);
    // Off the event loop's thread (libuv pool): a large batch does not hold up requests.
    if (t.gzip) body = await gzip(body);
    const headers = sign
      ? {
          ...t.headers,
          [sign.header]: `sha256=${createHmac('sha256', sign.key).update(body).digest('hex')}`,
        }
      : t.headers;
    let response: Response;
    try {
      response = await fetch(t.endpoint, {
        method: 'POST',
        headers,
        body,
        // Followed, a 301/302 turns the POST into a GET without body: events lost behind a 200.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(t.timeoutMs), closing.signal]),
      });
    } catch (error) {
      throw requestFailed(t, error, 'failed');
    }
    if (response.ok) return response;
    await drain(response);
    const redirect = response.status >= 300 && response.status < 400;
    throw writeFailed(
      t,
      `answered ${response.status}${redirect ? ' (redirects are not followed: configure the final URL)' : ''}`,
      response.status,
    );
  };
  return {
    send,
    async close() {
      closing.abort();
    },
  };
}

/** Reads the response to its end so the connection goes back to the pool. */
export async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

/** Each event of the batch with its line in `format`, without the '\n'. */
export function* eachLine(batch: Batch, format: EventFormat) {
  const lines = batch.lines(format);
  let start = 0;
  for (const event of batch.events) {
    const end = lines.indexOf('\n', start);
    yield [event, lines.slice(start, end)] as const;
    start = end + 1;
  }
}
