import { shapeOf } from '../errors.js';
import {
  checkOptions,
  resolveHttp,
  secret,
  type HttpCommonOptions,
} from '../internal/http-options.js';
import { eachLine, httpSender, requestFailed, writeFailed } from '../internal/http-send.js';
import type { Sink } from '../types.js';

/** Options of {@link elasticsearchBulk}. Authenticate with `apiKey` or `username`/`password` (or neither behind a proxy). */
export interface ElasticsearchBulkOptions extends HttpCommonOptions {
  /** Index, alias or data stream written to, e.g. `'logs-authtrail-default'`. */
  index: string;
  /** Encoded API key (base64 of `id:api_key`, as Kibana shows it): `Authorization: ApiKey <apiKey>`. */
  apiKey?: string;
  username?: string;
  password?: string;
}

/** Index names: lowercase, none of \ / * ? " < > | , # : or whitespace, no leading - _ + or . */
const INDEX = /^(?![-_+.])[^A-Z\\/*?"<>|\s,#:]{1,255}$/;

/**
 * Elasticsearch `_bulk` API: POSTs `{"create":{"_id":<event id>}}` + document pairs to
 * `<url>/<index>/_bulk` (or to `url` itself when it ends in `/_bulk`, naming the index in each
 * action). ECS documents by default. A 200 answer with `errors: true` rejects the write, like any
 * failed write, with code `ERR_AUTHTRAIL_SINK_WRITE`.
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
  const check = checkOptions('elasticsearchBulk', options);
  const { o } = check;
  const index = o.index;
  if (typeof index !== 'string' || !INDEX.test(index))
    check.issue(
      'index',
      shapeOf(index),
      'use a lowercase index or data stream name without \\ / * ? " < > | , # : or spaces, not starting with - _ + or ., e.g. "logs-authtrail-default"',
    );
  const optional = (name: 'apiKey' | 'username' | 'password', forbidden?: RegExp) =>
    o[name] === undefined
      ? undefined
      : secret(check, name, 'use the secret as a string, or leave it out', forbidden);
  const apiKey = optional('apiKey');
  // Basic credentials are base64-encoded: any character but a line break (and ':' in the username).
  const username = optional('username', /[:\r\n\0]/);
  const password = optional('password', /[\r\n\0]/);
  if (o.apiKey !== undefined && (o.username !== undefined || o.password !== undefined))
    check.issue('apiKey, username', 'both', 'use either apiKey or username/password');
  else if ((o.username === undefined) !== (o.password === undefined))
    check.issue('username, password', 'only one of them', 'give both, or use apiKey');
  const auth =
    apiKey !== undefined
      ? `ApiKey ${apiKey}`
      : username !== undefined && password !== undefined
        ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
        : undefined;
  let action = '{"create":{"_id":';
  const target = resolveHttp(check, url, {
    name: 'elasticsearch',
    known: ['index', 'apiKey', 'username', 'password'],
    format: 'ecs',
    contentType: 'application/x-ndjson',
    credentials: 'pass them as `username` and `password` (or `apiKey`) instead',
    reserved: auth === undefined ? [] : ['authorization'],
    auth,
    route(endpoint, path) {
      if (path.endsWith('/_bulk')) action = `{"create":{"_index":${JSON.stringify(index)},"_id":`;
      else endpoint.pathname = `${path}/${encodeURIComponent(index)}/_bulk`;
      // Only what the check below reads: a batch of 10 000 documents answers in a few hundred KB less.
      endpoint.searchParams.set('filter_path', 'errors,items.*.status,items.*.error.type');
    },
  });
  const { send, close } = httpSender(target);
  return {
    name: target.name,
    close,
    async write(batch) {
      let payload = '';
      // The event id as `_id` makes a retried batch idempotent: what the first attempt indexed
      // answers 409 the second time instead of being indexed twice.
      for (const [event, line] of eachLine(batch, target.format))
        payload += `${action}${JSON.stringify(event.id)}}}\n${line}\n`;
      const response = await send(payload);
      let result: { errors?: unknown; items?: unknown } | null;
      try {
        result = (await response.json()) as typeof result;
      } catch (error) {
        throw requestFailed(target, error, 'answered with a body that is not JSON');
      }
      if (result?.errors !== true) return;
      const items = Array.isArray(result.items) ? (result.items as unknown[]) : [];
      let failed = 0;
      let first: string | undefined;
      for (const item of items) {
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
      // `errors: true` without items saying which: nothing is known to be indexed.
      if (failed === 0 && items.length > 0) return;
      throw writeFailed(
        target,
        `answered ${response.status} with errors: ${failed || 'an unknown number'} of ${batch.events.length} documents failed (first error type: ${first ?? 'unknown'})`,
        response.status,
      );
    },
  };
}
