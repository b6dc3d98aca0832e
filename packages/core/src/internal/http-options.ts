import type { EventFormat } from '@authtrail/schema';
import { invalidOptions, shapeOf } from '../errors.js';
import type { OptionCheck } from './option-check.js';

export { checkOptions, type OptionCheck } from './option-check.js';

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

/** Where a checked HTTP sink sends its batches, and how: worked out once, at construction. */
export interface HttpTarget {
  /** The sink's name, first word of its error messages. */
  readonly name: string;
  /** Where each batch is POSTed: the URL given, as the spec's `route` turned it. */
  readonly endpoint: URL;
  /**
   * The endpoint as error messages show it: scheme, host and port only. The path is the credential
   * of some collectors (Sumo Logic, Loggly), the query often holds an API key.
   */
  readonly shown: string;
  /** The format the options chose, or the spec's default. */
  readonly format: EventFormat;
  /** Whether each body is gzipped. */
  readonly gzip: boolean;
  /** How long one request may take, response included. */
  readonly timeoutMs: number;
  /** Every request header but the signature. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What one sink adds to the options every HTTP sink shares. */
export interface HttpSpec {
  /** The sink's name (`Sink.name`), first word of its error messages. */
  name: string;
  /** The sink's own option names. */
  known: readonly string[];
  /** The format used when the options name none. */
  format: EventFormat;
  /** The request's `content-type`, e.g. `'application/x-ndjson'`. */
  contentType: string;
  /** How to pass what was put in the URL's user:password instead. */
  credentials: string;
  /** Header names the sink sets itself (lowercase). @default [] */
  reserved?: readonly string[];
  /** The `authorization` header's value. */
  auth?: string | undefined;
  /** Turns the URL given into the endpoint (`path`: its pathname without trailing slashes). */
  route?: (endpoint: URL, path: string) => void;
}

const COMMON_KEYS = ['format', 'gzip', 'headers', 'timeoutMs'];
/** What a header name may be made of (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks what every HTTP sink shares (the URL, {@link HttpCommonOptions}, unknown option names), then
 * throws every problem found, the sink's own included, as one `ERR_AUTHTRAIL_INVALID_OPTIONS`. The
 * URL must be http(s) without user:password; header values are checked but never shown. Report the
 * sink's own problems on `check` before calling it.
 * @example
 * const check = checkOptions('mySink', options);
 * const target = resolveHttp(check, url, {
 *   name: 'my-collector',
 *   known: [],
 *   format: 'native',
 *   contentType: 'application/x-ndjson',
 *   credentials: 'pass them in `headers` instead',
 * });
 */
export function resolveHttp(
  check: OptionCheck<HttpCommonOptions>,
  url: unknown,
  spec: HttpSpec,
): HttpTarget {
  const { fn, o, issues, issue } = check;
  check.known('', o, [...COMMON_KEYS, ...spec.known]);

  const endpoint = parseUrl(check, url, spec.credentials);
  const format = check.format(spec.format);
  const gzip = check.bool('gzip', o.gzip, false);
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000)
    issue(
      'timeoutMs',
      shapeOf(timeoutMs),
      'use an integer number of milliseconds from 1 to 3600000',
    );

  const headers: Record<string, string> = { 'content-type': spec.contentType };
  const reserved = ['content-length', 'content-encoding', 'host', ...(spec.reserved ?? [])];
  if (
    o.headers !== undefined &&
    (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers))
  )
    issue('headers', shapeOf(o.headers), 'use an object of header names to string values');
  else {
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      const lower = name.toLowerCase();
      // Values may be secrets: problems name the header and describe the value, never show it.
      if (!HEADER_NAME.test(name))
        issue(
          `headers[${JSON.stringify(name)}]`,
          'an invalid header name',
          'use letters, digits and - only',
        );
      else if (reserved.includes(lower))
        issue(`headers.${name}`, 'a value', `leave it out: ${fn} sets ${lower} itself`);
      else if (typeof value !== 'string' || /[\r\n\0]/.test(value))
        issue(
          `headers.${name}`,
          typeof value === 'string' ? 'a value with a line break or NUL' : shapeOf(value),
          'use a single-line string',
        );
      else headers[lower] = value;
    }
  }
  if (spec.auth !== undefined) headers.authorization = spec.auth;
  if (gzip) headers['content-encoding'] = 'gzip';

  if (issues.length > 0 || !endpoint) throw invalidOptions(issues);
  spec.route?.(endpoint, endpoint.pathname.replace(/\/+$/, ''));
  return {
    name: spec.name,
    endpoint,
    shown: endpoint.origin,
    format,
    gzip,
    timeoutMs,
    headers: Object.freeze(headers),
  };
}

function parseUrl(
  check: OptionCheck<unknown>,
  value: unknown,
  credentials: string,
): URL | undefined {
  const fix = 'use an absolute http(s) URL, e.g. "https://collector.example.com:8443/audit"';
  let url: URL;
  try {
    if (typeof value !== 'string' && !(value instanceof URL)) throw new TypeError();
    url = new URL(value);
  } catch {
    check.argument(shapeOf(value), fix);
    return undefined;
  }
  let ok = true;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    check.argument(`a URL with scheme ${url.protocol}`, fix);
    ok = false;
  }
  if (url.username !== '' || url.password !== '') {
    check.argument(
      'a URL with credentials (user:password@)',
      `remove them from the URL and ${credentials}`,
    );
    ok = false;
  }
  return ok ? url : undefined;
}

/** A credential: checked without ever being shown. Tokens go into a header as they are: no whitespace. */
export function secret(
  check: OptionCheck<unknown>,
  name: string,
  fix: string,
  forbidden = /[\s\0]/,
): string | undefined {
  const value = check.o[name];
  if (typeof value === 'string' && value !== '' && !forbidden.test(value)) return value;
  const received =
    typeof value !== 'string'
      ? shapeOf(value)
      : value === ''
        ? 'an empty string'
        : 'a string with characters a header cannot carry';
  check.issue(name, received, fix);
  return undefined;
}
