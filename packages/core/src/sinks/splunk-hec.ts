import { shapeOf } from '../errors.js';
import {
  checkOptions,
  resolveHttp,
  secret,
  type HttpCommonOptions,
} from '../internal/http-options.js';
import { drain, eachLine, httpSender } from '../internal/http-send.js';
import type { Sink } from '../types.js';

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

/**
 * Splunk HTTP Event Collector: POSTs to `<url>/services/collector/event` with
 * `Authorization: Splunk <token>`, one `{"time","event",...}` object per event. A failed write
 * rejects with code `ERR_AUTHTRAIL_SINK_WRITE`, as {@link httpSink}'s do.
 * @example
 * createAuditor({
 *   sinks: [splunkHec('https://splunk.example.com:8088', { token: process.env.HEC_TOKEN!, index: 'audit' })],
 * });
 */
export function splunkHec(url: string | URL, options: SplunkHecOptions): Sink {
  const check = checkOptions('splunkHec', options);
  const token = secret(
    check,
    'token',
    'pass the token of a HEC input (Settings > Data inputs > HTTP Event Collector), e.g. process.env.SPLUNK_HEC_TOKEN',
  );
  let meta = '';
  for (const key of ['source', 'sourcetype', 'index'] as const) {
    const value = check.o[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '')
      check.issue(key, shapeOf(value), 'use a non-empty string or leave it out');
    else meta += `,"${key}":${JSON.stringify(value)}`;
  }
  const target = resolveHttp(check, url, {
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
  const { send, close } = httpSender(target);
  return {
    name: target.name,
    close,
    async write(batch) {
      let payload = '';
      for (const [event, line] of eachLine(batch, target.format)) {
        // Epoch seconds with milliseconds; without `time` Splunk would use the time it received the event.
        const ms = Date.parse(event.time);
        const time = Number.isFinite(ms) ? `"time":${(ms / 1000).toFixed(3)},` : '';
        payload += `{${time}"event":${line}${meta}}\n`;
      }
      await drain(await send(payload));
    },
  };
}
