import { shapeOf } from '../errors.js';
import {
  HEADER_NAME,
  checkOptions,
  resolveHttp,
  type HttpCommonOptions,
  type OptionCheck,
} from '../internal/http-options.js';
import { drain, httpSender, type Signing } from '../internal/http-send.js';
import type { Sink } from '../types.js';

export type { HttpCommonOptions } from '../internal/http-options.js';

/** Options of {@link httpSink}. */
export interface HttpSinkOptions extends HttpCommonOptions {
  /** `'ndjson'`: one JSON event a line (`application/x-ndjson`); `'array'`: one JSON array. @default 'ndjson' */
  body?: 'ndjson' | 'array';
  /**
   * Signs the exact bytes sent (after gzip) with HMAC-SHA-256: `<header>: sha256=<hex>`.
   * `key` must have at least 32 bytes. @default undefined (unsigned)
   */
  sign?: { key: string | Uint8Array; header?: string };
}

/**
 * POSTs each batch to `url` as JSON lines (or a JSON array). A non-2xx answer, a network error or
 * a timeout rejects the write with an `AuthtrailError` of code `ERR_AUTHTRAIL_SINK_WRITE`, and the
 * delivery queue retries it with backoff: the sink never retries by itself. Error messages name
 * the status and the URL's scheme and host, never its path, query, headers or body.
 * @example
 * createAuditor({
 *   sinks: [
 *     httpSink('https://collector.example.com/audit', {
 *       headers: { authorization: `Bearer ${process.env.COLLECTOR_TOKEN}` },
 *       sign: { key: process.env.AUDIT_SIGNING_KEY! },
 *       gzip: true,
 *     }),
 *   ],
 * });
 */
export function httpSink(url: string | URL, options: HttpSinkOptions = {}): Sink {
  const check = checkOptions('httpSink', options);
  const body = check.o.body ?? 'ndjson';
  if (body !== 'ndjson' && body !== 'array')
    check.issue('body', shapeOf(body, ['ndjson', 'array']), "use 'ndjson' or 'array'");
  const sign = signing(check);
  const target = resolveHttp(check, url, {
    name: 'http',
    known: ['body', 'sign'],
    format: 'native',
    contentType: body === 'array' ? 'application/json' : 'application/x-ndjson',
    credentials: 'pass them in `headers` instead, e.g. { headers: { authorization: "Basic …" } }',
    reserved: sign ? [sign.header] : [],
  });
  const { send, close } = httpSender(target, sign);
  return {
    name: target.name,
    close,
    async write(batch) {
      const lines = batch.lines(target.format);
      // Every line ends in '\n' and JSON.stringify escapes newlines inside strings: one '\n' per event.
      const payload = body === 'ndjson' ? lines : `[${lines.slice(0, -1).replaceAll('\n', ',')}]`;
      await drain(await send(payload));
    },
  };
}

/** Checks `sign`: reports its problems and returns undefined when it is unusable. */
function signing(check: OptionCheck<HttpSinkOptions>): Signing | undefined {
  const { sign } = check.o;
  if (sign === undefined) return undefined;
  if (sign === null || typeof sign !== 'object') {
    check.issue('sign', shapeOf(sign), 'use { key, header? }');
    return undefined;
  }
  const { key, header = 'x-authtrail-signature' } = sign as { key?: unknown; header?: unknown };
  const bytes = typeof key === 'string' || key instanceof Uint8Array ? Buffer.from(key) : undefined;
  const keyOk = bytes !== undefined && bytes.length >= 32;
  if (!keyOk)
    check.issue(
      'sign.key',
      bytes ? `a key of ${bytes.length} bytes` : shapeOf(key),
      'use at least 32 bytes of secret, e.g. `openssl rand -base64 32`',
    );
  const headerOk = typeof header === 'string' && HEADER_NAME.test(header);
  if (!headerOk)
    check.issue(
      'sign.header',
      shapeOf(header),
      'use a header name such as "x-authtrail-signature"',
    );
  return keyOk && headerOk ? { key: bytes, header: header.toLowerCase() } : undefined;
}
