import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { invalidOptions, type OptionIssue } from '../errors.js';
import { EVENT_FORMATS, isEventFormat, type EventFormat } from '../formats/index.js';
import type { Batch, Sink } from '../types.js';

const gzip = promisify(gzipCallback);

/** Options every HTTP sink takes. */
export interface HttpCommonOptions {
  /** How each event is written: `'native'`, `'ecs'` or `'ocsf'`. @default 'native' ('ecs' for elasticsearchBulk) */
  format?: EventFormat;
  /** Compress each request body (`content-encoding: gzip`). @default false */
  gzip?: boolean;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. Their values never appear in errors. @default {} */
  headers?: Readonly<Record<string, string>>;
  /** How long one request may take, response included, before the write fails (and is retried). @default 10000 */
  timeoutMs?: number;
}

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

/** Options of {@link splunkHec}. */
export interface SplunkHecOptions extends HttpCommonOptions {
  /** The HEC token, sent as `Authorization: Splunk <token>`. */
  token: string;
  /** @default the token's default index */
  index?: string;
  /** @default the token's default sourcetype */
  sourcetype?: string;
  /** @default the token's default source */
  source?: string;
}

/** Options of {@link elasticsearchBulk}. Authenticate with `apiKey` or `username`/`password` (or neither behind a proxy). */
export interface ElasticsearchBulkOptions extends HttpCommonOptions {
  /** Index, alias or data stream written to, e.g. `'logs-authtrail-default'`. */
  index: string;
  /** Encoded API key (base64 of `id:api_key`, as Kibana shows it): `Authorization: ApiKey <apiKey>`. */
  apiKey?: string;
  username?: string;
  password?: string;
}

/** Why a write failed: the server's status (absent for network errors and timeouts), the URL without query. */
class HttpSinkError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'HttpSinkError';
  }
}

/**
 * POSTs each batch to `url` as JSON lines (or a JSON array). A non-2xx answer, a network error or
 * a timeout rejects the write, and the delivery queue retries it with backoff: the sink never
 * retries by itself. Error messages name the status and the URL, never its query, headers or body.
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
  const fn = 'httpSink';
  const issues: OptionIssue[] = [];
  const o = objectOptions(fn, options, issues);
  const body = o.body ?? 'ndjson';
  if (body !== 'ndjson' && body !== 'array')
    issues.push({
      path: `${fn}(url, { body })`,
      received: show(body),
      fix: "use 'ndjson' or 'array'",
    });
  const sign = signing(fn, o.sign, issues);
  const c = common(fn, url, o, issues, {
    name: 'http',
    known: ['body', 'sign'],
    format: 'native',
    contentType: body === 'array' ? 'application/json' : 'application/x-ndjson',
    credentials: 'pass them in `headers` instead, e.g. { headers: { authorization: "Basic …" } }',
    reserved: sign ? [sign.header] : [],
  });
  const send = sender(c, sign);
  return {
    name: c.name,
    async write(batch) {
      const lines = batch.lines(c.format);
      // Every line ends in '\n' and JSON.stringify escapes newlines inside strings: one '\n' per event.
      const payload = body === 'ndjson' ? lines : `[${lines.slice(0, -1).replaceAll('\n', ',')}]`;
      await drain(await send(payload));
    },
  };
}

/**
 * Splunk HTTP Event Collector: POSTs to `<url>/services/collector/event` with
 * `Authorization: Splunk <token>`, one `{"time","event",...}` object per event.
 * @example
 * createAuditor({
 *   sinks: [splunkHec('https://splunk.example.com:8088', { token: process.env.HEC_TOKEN!, index: 'audit' })],
 * });
 */
export function splunkHec(url: string | URL, options: SplunkHecOptions): Sink {
  const fn = 'splunkHec';
  const issues: OptionIssue[] = [];
  const o = objectOptions(fn, options, issues);
  const token = secret(
    fn,
    'token',
    o.token,
    issues,
    'pass the token of a HEC input (Settings > Data inputs > HTTP Event Collector), e.g. process.env.SPLUNK_HEC_TOKEN',
  );
  let meta = '';
  for (const key of ['source', 'sourcetype', 'index'] as const) {
    const value = o[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '')
      issues.push({
        path: `${fn}(url, { ${key} })`,
        received: show(value),
        fix: 'use a non-empty string or leave it out',
      });
    else meta += `,"${key}":${JSON.stringify(value)}`;
  }
  const c = common(fn, url, o, issues, {
    name: 'splunk-hec',
    known: ['token', 'index', 'sourcetype', 'source'],
    format: 'native',
    contentType: 'application/json',
    credentials: 'pass the HEC token as `token` instead',
    reserved: ['authorization'],
    auth: token === undefined ? undefined : `Splunk ${token}`,
    // A base URL gets the event endpoint; a URL already naming a collector endpoint is kept.
    route(endpoint, path) {
      if (!path.includes('/services/collector'))
        endpoint.pathname = `${path}/services/collector/event`;
    },
  });
  const send = sender(c, undefined);
  return {
    name: c.name,
    async write(batch) {
      let payload = '';
      for (const [event, line] of eachLine(batch, c.format)) {
        // Epoch seconds with milliseconds; without `time` Splunk would use the time it received the event.
        const ms = Date.parse(event.time);
        const time = Number.isFinite(ms) ? `"time":${(ms / 1000).toFixed(3)},` : '';
        payload += `{${time}"event":${line}${meta}}\n`;
      }
      await drain(await send(payload));
    },
  };
}

/**
 * Elasticsearch `_bulk` API: POSTs `{"create":{"_id":<event id>}}` + document pairs to
 * `<url>/<index>/_bulk` (or to `url` itself when it ends in `/_bulk`, naming the index in each
 * action). ECS documents by default. A 200 answer with `errors: true` rejects the write.
 * @example
 * createAuditor({
 *   sinks: [
 *     elasticsearchBulk('https://es.example.com:9200', {
 *       index: 'logs-authtrail-default',
 *       apiKey: process.env.ES_API_KEY!,
 *     }),
 *   ],
 * });
 */
export function elasticsearchBulk(url: string | URL, options: ElasticsearchBulkOptions): Sink {
  const fn = 'elasticsearchBulk';
  const issues: OptionIssue[] = [];
  const o = objectOptions(fn, options, issues);
  const index = o.index;
  if (
    typeof index !== 'string' ||
    !/^(?![-_+.])[^A-Z\\/*?"<>|\s,#:]{1,255}$/.test(index) ||
    index === '..'
  )
    issues.push({
      path: `${fn}(url, { index })`,
      received: show(index),
      fix: 'use a lowercase index or data stream name without \\ / * ? " < > | , # : or spaces, not starting with - _ + or ., e.g. "logs-authtrail-default"',
    });
  let auth: string | undefined;
  const fix = 'use the secret as a string, or leave it out';
  const apiKey = o.apiKey === undefined ? undefined : secret(fn, 'apiKey', o.apiKey, issues, fix);
  // Basic credentials are base64-encoded: any character but a line break (and ':' in the username).
  const username =
    o.username === undefined
      ? undefined
      : secret(fn, 'username', o.username, issues, fix, /[:\r\n\0]/);
  const password =
    o.password === undefined
      ? undefined
      : secret(fn, 'password', o.password, issues, fix, /[\r\n\0]/);
  if (o.apiKey !== undefined && (o.username !== undefined || o.password !== undefined))
    issues.push({
      path: `${fn}(url, { apiKey, username })`,
      received: 'both',
      fix: 'use either apiKey or username/password',
    });
  else if ((o.username === undefined) !== (o.password === undefined))
    issues.push({
      path: `${fn}(url, { username, password })`,
      received: 'only one of them',
      fix: 'give both, or use apiKey',
    });
  if (apiKey !== undefined) auth = `ApiKey ${apiKey}`;
  else if (username !== undefined && password !== undefined)
    auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let action = '{"create":{"_id":';
  const c = common(fn, url, o, issues, {
    name: 'elasticsearch',
    known: ['index', 'apiKey', 'username', 'password'],
    format: 'ecs',
    contentType: 'application/x-ndjson',
    credentials: 'pass them as `username` and `password` (or `apiKey`) instead',
    reserved: auth === undefined ? [] : ['authorization'],
    auth,
    route(endpoint, path) {
      if (path.endsWith('/_bulk')) action = `{"create":{"_index":${JSON.stringify(index)},"_id":`;
      else endpoint.pathname = `${path}/${encodeURIComponent(String(index))}/_bulk`;
      // Only what the check below reads: a batch of 10 000 documents answers in a few hundred KB less.
      endpoint.searchParams.set('filter_path', 'errors,items.*.status,items.*.error.type');
    },
  });
  const send = sender(c, undefined);
  return {
    name: c.name,
    async write(batch) {
      let payload = '';
      // The event id as `_id` makes a retried batch idempotent: what the first attempt indexed
      // answers 409 the second time instead of being indexed twice.
      for (const [event, line] of eachLine(batch, c.format))
        payload += `${action}${JSON.stringify(event.id)}}}\n${line}\n`;
      const response = await send(payload);
      let result: { errors?: unknown; items?: unknown };
      try {
        result = (await response.json()) as typeof result;
      } catch (error) {
        throw requestFailed(c, error, 'answered with a body that is not JSON');
      }
      if (result?.errors !== true) return;
      let failed = 0;
      let first: string | undefined;
      for (const item of Array.isArray(result.items) ? (result.items as unknown[]) : []) {
        const op = Object.values(item ?? {})[0] as
          { status?: unknown; error?: { type?: unknown } } | undefined;
        // Already indexed by an earlier attempt of this batch (same `_id`): delivered, not failed.
        if (
          !op?.error ||
          (op.status === 409 && op.error.type === 'version_conflict_engine_exception')
        )
          continue;
        failed++;
        const type = op.error.type;
        first ??= typeof type === 'string' && /^[\w.-]{1,100}$/.test(type) ? type : 'unknown';
      }
      if (failed === 0 && Array.isArray(result.items) && result.items.length > 0) return;
      throw new HttpSinkError(
        `${c.name}: POST ${c.shown} answered ${response.status} with errors: ${failed || 'an unknown number'} of ${batch.events.length} documents failed (first error type: ${first ?? 'unknown'})`,
        c.shown,
        response.status,
      );
    },
  };
}

interface Resolved {
  /** The sink's name, first word of its error messages. */
  name: string;
  /** Where requests go: may be adjusted by a preset before its first request. */
  endpoint: URL;
  /** The endpoint as error messages show it: origin and path, no query. */
  shown: string;
  format: EventFormat;
  timeoutMs: number;
  headers: Record<string, string>;
}

interface CommonSpec {
  name: string;
  known: readonly string[];
  format: EventFormat;
  contentType: string;
  /** How to pass what was put in the URL's user:password instead. */
  credentials: string;
  /** Header names the sink sets itself (lowercase). */
  reserved: readonly string[];
  auth?: string | undefined;
  /** Turns the URL given into the endpoint (`path`: its pathname without trailing slashes). */
  route?: (endpoint: URL, path: string) => void;
}

const COMMON_KEYS = ['format', 'gzip', 'headers', 'timeoutMs'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates what every HTTP sink shares, then throws every problem found so far at once. */
function common(
  fn: string,
  url: unknown,
  o: HttpCommonOptions & Record<string, unknown>,
  issues: OptionIssue[],
  spec: CommonSpec,
): Resolved {
  const at = (name: string) => `${fn}(url, { ${name} })`;
  const known = [...COMMON_KEYS, ...spec.known];
  for (const key of Object.keys(o))
    if (!known.includes(key))
      issues.push({
        path: at(key),
        received: 'an unknown option',
        fix: `known options are ${known.join(', ')}`,
      });

  const endpoint = parseUrl(fn, url, spec.credentials, issues);
  const format = o.format ?? spec.format;
  if (!isEventFormat(format))
    issues.push({
      path: at('format'),
      received: show(format),
      fix: `use one of ${EVENT_FORMATS.map((f) => `'${f}'`).join(', ')}`,
    });
  if (o.gzip !== undefined && typeof o.gzip !== 'boolean')
    issues.push({ path: at('gzip'), received: show(o.gzip), fix: 'use true or false' });
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000)
    issues.push({
      path: at('timeoutMs'),
      received: show(timeoutMs),
      fix: 'use an integer number of milliseconds from 1 to 3600000',
    });

  const headers: Record<string, string> = { 'content-type': spec.contentType };
  const reserved = ['content-length', 'content-encoding', 'host', ...spec.reserved];
  if (
    o.headers !== undefined &&
    (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers))
  )
    issues.push({
      path: at('headers'),
      received: show(o.headers),
      fix: 'use an object of header names to string values',
    });
  else {
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      const lower = name.toLowerCase();
      // Values may be secrets: problems name the header and describe the value, never show it.
      if (!TOKEN.test(name))
        issues.push({
          path: `${at('headers')}[${JSON.stringify(name)}]`,
          received: 'an invalid header name',
          fix: 'use letters, digits and - only',
        });
      else if (reserved.includes(lower))
        issues.push({
          path: `${at('headers')}.${name}`,
          received: 'a value',
          fix: `leave it out: ${fn} sets ${lower} itself`,
        });
      else if (typeof value !== 'string' || /[\r\n\0]/.test(value))
        issues.push({
          path: `${at('headers')}.${name}`,
          received:
            typeof value === 'string' ? 'a value with a line break or NUL' : describe(value),
          fix: 'use a single-line string',
        });
      else headers[lower] = value;
    }
  }
  if (spec.auth !== undefined) headers.authorization = spec.auth;
  if (o.gzip === true) headers['content-encoding'] = 'gzip';

  if (issues.length > 0 || !endpoint || !isEventFormat(format)) throw invalidOptions(issues);
  spec.route?.(endpoint, endpoint.pathname.replace(/\/+$/, ''));
  return {
    name: spec.name,
    endpoint,
    shown: shown(endpoint),
    format,
    timeoutMs,
    headers: Object.freeze(headers) as Record<string, string>,
  };
}

function objectOptions<T>(
  fn: string,
  options: T,
  issues: OptionIssue[],
): T & Record<string, unknown> {
  if (options !== null && typeof options === 'object' && !Array.isArray(options))
    return options as T & Record<string, unknown>;
  issues.push({
    path: `${fn}(url, options)`,
    received: describe(options),
    fix: 'use an options object',
  });
  return {} as T & Record<string, unknown>;
}

function parseUrl(
  fn: string,
  value: unknown,
  credentials: string,
  issues: OptionIssue[],
): URL | undefined {
  const path = `${fn}(url)`;
  const fix = 'use an absolute http(s) URL, e.g. "https://collector.example.com:8443/audit"';
  let url: URL;
  try {
    if (typeof value !== 'string' && !(value instanceof URL)) throw new TypeError();
    url = new URL(value);
  } catch {
    // A malformed URL may still hold a password: shown only when it has no '@'.
    const safe = typeof value === 'string' && !value.includes('@') && value.length <= 200;
    issues.push({ path, received: safe ? JSON.stringify(value) : describe(value), fix });
    return undefined;
  }
  let ok = true;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.push({ path, received: `a URL with scheme ${url.protocol}`, fix });
    ok = false;
  }
  if (url.username !== '' || url.password !== '') {
    issues.push({
      path,
      received: 'a URL with credentials (user:password@)',
      fix: `remove them from the URL and ${credentials}`,
    });
    ok = false;
  }
  return ok ? url : undefined;
}

function signing(
  fn: string,
  sign: unknown,
  issues: OptionIssue[],
): { key: Buffer; header: string } | undefined {
  if (sign === undefined) return undefined;
  const path = `${fn}(url, { sign })`;
  if (sign === null || typeof sign !== 'object') {
    issues.push({ path, received: describe(sign), fix: 'use { key, header? }' });
    return undefined;
  }
  const { key, header = 'x-authtrail-signature' } = sign as { key?: unknown; header?: unknown };
  const bytes =
    typeof key === 'string'
      ? Buffer.from(key)
      : key instanceof Uint8Array
        ? Buffer.from(key)
        : undefined;
  if (!bytes || bytes.length < 32)
    issues.push({
      path: `${fn}(url, { sign: { key } })`,
      received: bytes ? `a key of ${bytes.length} bytes` : describe(key),
      fix: 'use at least 32 bytes of secret, e.g. `openssl rand -base64 32`',
    });
  if (typeof header !== 'string' || !TOKEN.test(header))
    issues.push({
      path: `${fn}(url, { sign: { header } })`,
      received: show(header),
      fix: 'use a header name such as "x-authtrail-signature"',
    });
  return bytes && bytes.length >= 32 && typeof header === 'string'
    ? { key: bytes, header: header.toLowerCase() }
    : undefined;
}

/** A credential: checked without ever being shown. Tokens go into a header as they are: no whitespace. */
function secret(
  fn: string,
  name: string,
  value: unknown,
  issues: OptionIssue[],
  fix: string,
  forbidden = /[\s\0]/,
): string | undefined {
  if (typeof value === 'string' && value !== '' && !forbidden.test(value)) return value;
  const received =
    typeof value !== 'string'
      ? describe(value)
      : value === ''
        ? 'an empty string'
        : 'a string with characters a header cannot carry';
  issues.push({ path: `${fn}(url, { ${name} })`, received, fix });
  return undefined;
}

/** One POST: gzip, signature, timeout. Resolves with a 2xx response; rejects with an error fit to publish. */
function sender(c: Resolved, sign: { key: Buffer; header: string } | undefined) {
  const compress = c.headers['content-encoding'] === 'gzip';
  return async (payload: string): Promise<Response> => {
    let body: Buffer = Buffer.from(payload);
    // Off the event loop's thread (libuv pool): a large batch does not hold up requests.
    if (compress) body = await gzip(body);
    let headers = c.headers;
    if (sign) {
      headers = { ...headers };
      headers[sign.header] = `sha256=${createHmac('sha256', sign.key).update(body).digest('hex')}`;
    }
    let response: Response;
    try {
      response = await fetch(c.endpoint, {
        method: 'POST',
        headers,
        body,
        // Followed, a 301/302 turns the POST into a GET without body: events lost behind a 200.
        redirect: 'manual',
        signal: AbortSignal.timeout(c.timeoutMs),
      });
    } catch (error) {
      throw requestFailed(c, error, 'failed');
    }
    if (response.ok) return response;
    await drain(response);
    const redirect = response.status >= 300 && response.status < 400;
    throw new HttpSinkError(
      `${c.name}: POST ${c.shown} answered ${response.status}${redirect ? ' (redirects are not followed: configure the final URL)' : ''}`,
      c.shown,
      response.status,
    );
  };
}

/**
 * The message names the URL and a cause code (ECONNREFUSED, a timeout); undici's error is not kept
 * as `cause`, so nothing of the request can reach a subscriber.
 */
function requestFailed(c: Resolved, error: unknown, what: string): HttpSinkError {
  const e = error as { name?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code;
  const why =
    e?.name === 'TimeoutError'
      ? `timed out after ${c.timeoutMs} ms`
      : `${what}${typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? ` (${code})` : ''}`;
  return new HttpSinkError(`${c.name}: POST ${c.shown} ${why}`, c.shown, undefined);
}

/** Reads the response to its end so the connection goes back to the pool. */
async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

function* eachLine(batch: Batch, format: EventFormat) {
  const lines = batch.lines(format);
  let start = 0;
  for (const event of batch.events) {
    const end = lines.indexOf('\n', start);
    yield [event, lines.slice(start, end)] as const;
    start = end + 1;
  }
}

function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value).slice(0, 80) : describe(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a ${value.constructor.name} of ${value.length} bytes`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `${typeof value} ${String(value)}`;
}
