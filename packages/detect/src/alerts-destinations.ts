import { createHmac } from 'node:crypto';
import {
  checkOptions,
  drain,
  httpSender,
  resolveHttp,
  shapeOf,
  type HttpCommonOptions,
  type HttpSender,
  type HttpSpec,
  type HttpTarget,
  type OptionCheck,
} from '@authtrail/core/sink';
import { summary, type AlertDestination, type AlertNotification } from './alerts.js';
import { slackPayload } from './alerts-slack.js';

/** Options every HTTP destination takes: core's HTTP options but `format` (alerts are JSON). */
export type AlertHttpOptions = Omit<HttpCommonOptions, 'format'>;

/** Options of {@link webhookAlert}. */
export interface WebhookAlertOptions extends AlertHttpOptions {
  /** Where each notification is POSTed. */
  url: string | URL;
  /** The endpoint's signing secret, `whsec_` + base64 of 24 to 64 random bytes. */
  secret: string;
}

/** Options of {@link slackAlert}. */
export interface SlackAlertOptions extends AlertHttpOptions {
  /** The Slack incoming webhook URL (its path is a credential: never shown in errors). */
  webhookUrl: string | URL;
}

/** Options of {@link pagerDutyAlert}. */
export interface PagerDutyAlertOptions extends AlertHttpOptions {
  /** The Events API v2 integration's routing key. */
  routingKey: string;
  /** @default 'https://events.pagerduty.com/v2/enqueue' */
  url?: string | URL;
}

/** Options of {@link alertmanagerAlert}. */
export interface AlertmanagerAlertOptions extends AlertHttpOptions {
  /** Alertmanager's base URL, e.g. `http://alertmanager:9093`; alerts go to `/api/v2/alerts`. */
  url: string | URL;
}

const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';
/** Stands in for a URL already reported, so resolveHttp checks the rest without a second report. */
const REPORTED = 'http://reported.invalid';

/**
 * Sends each notification as a JSON POST signed per the Standard Webhooks specification: headers
 * `webhook-id` (the notification's id, the same on every retry), `webhook-timestamp` (Unix seconds)
 * and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the secret's bytes.
 * The body is `{ type: 'authtrail.alert.firing' | 'authtrail.alert.resolved', timestamp, data }`.
 * @example
 * detectors({ alerts: [webhookAlert({ url: 'https://hooks.example.com/authtrail', secret: process.env.WEBHOOK_SECRET })] });
 */
export function webhookAlert(options: WebhookAlertOptions): AlertDestination {
  const check = checkOptions('webhookAlert', options, '');
  const secret = check.o.secret;
  let key: Buffer | undefined;
  if (typeof secret === 'string' && /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    key = Buffer.from(secret.slice(6), 'base64');
    if (key.length < 24 || key.length > 64) key = undefined;
  }
  if (!key)
    check.issue(
      'secret',
      shapeOf(secret),
      'use the endpoint secret: "whsec_" + base64 of 24 to 64 random bytes',
    );
  const post = poster(
    http(check, 'url', {
      name: 'webhookAlert',
      known: ['url', 'secret'],
      reserved: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
      credentials: 'sign with `secret` instead',
    }),
  );
  return {
    name: 'webhookAlert',
    close: post.close,
    async send(n) {
      const body = JSON.stringify({
        type: `authtrail.alert.${n.status}`,
        timestamp: new Date().toISOString(),
        data: n,
      });
      // Signed per attempt: a receiver refuses a timestamp older than its tolerance (5 min).
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', key!)
        .update(`${n.id}.${timestamp}.${body}`)
        .digest('base64');
      await post.send(body, {
        'webhook-id': n.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signature}`,
      });
    },
  };
}

/**
 * Posts each notification to a Slack incoming webhook: a `text` fallback and `blocks`. Every string
 * taken from an event is escaped for Slack's mrkdwn (`&`, `<`, `>`; `@channel`, `@here` and
 * `@everyone` defused; control characters removed), so a hostile user id cannot mention or link.
 */
export function slackAlert(options: SlackAlertOptions): AlertDestination {
  const check = checkOptions('slackAlert', options, '');
  const post = poster(
    http(check, 'webhookUrl', {
      name: 'slackAlert',
      known: ['webhookUrl'],
      credentials: 'use the webhook URL as Slack gave it',
    }),
  );
  return {
    name: 'slackAlert',
    close: post.close,
    send: (n) => post.send(JSON.stringify(slackPayload(n))),
  };
}

/**
 * Triggers a PagerDuty incident through the Events API v2 for each firing notification and resolves
 * it when the group resolves, under one `dedup_key` per (detector, key).
 */
export function pagerDutyAlert(options: PagerDutyAlertOptions): AlertDestination {
  const check = checkOptions('pagerDutyAlert', options, '');
  const routingKey = check.o.routingKey;
  if (typeof routingKey !== 'string' || !/^[A-Za-z0-9_-]{8,128}$/.test(routingKey))
    check.issue(
      'routingKey',
      shapeOf(routingKey),
      "use the integration's routing key (Events API v2), e.g. from process.env",
    );
  const post = poster(
    http(
      check,
      'url',
      {
        name: 'pagerDutyAlert',
        known: ['url', 'routingKey'],
        credentials: 'pass the routing key in `routingKey`',
      },
      PAGERDUTY_URL,
    ),
  );
  return {
    name: 'pagerDutyAlert',
    close: post.close,
    async send(n) {
      const base = { routing_key: routingKey, dedup_key: n.group };
      const body =
        n.status === 'resolved'
          ? { ...base, event_action: 'resolve' }
          : {
              ...base,
              event_action: 'trigger',
              client: 'authtrail',
              payload: {
                summary: summary(n).slice(0, 1024),
                source: n.source?.ip ?? 'authtrail',
                severity: PAGERDUTY_SEVERITY[n.severity],
                timestamp: n.event.time,
                component: n.detector,
                class: n.type,
                custom_details: details(n),
              },
            };
      await post.send(JSON.stringify(body));
    },
  };
}

/**
 * Posts each notification to Alertmanager's `POST /api/v2/alerts`: labels `alertname` (the
 * detector), `severity`, `type` and `key` (the group's hash); a firing alert's `endsAt` is when it
 * resolves if nothing more is detected, a resolved one's is when it resolved.
 */
export function alertmanagerAlert(options: AlertmanagerAlertOptions): AlertDestination {
  const check = checkOptions('alertmanagerAlert', options, '');
  const post = poster(
    http(check, 'url', {
      name: 'alertmanagerAlert',
      known: ['url'],
      credentials: 'pass them in `headers` instead',
      route: (endpoint, path) => {
        endpoint.pathname = `${path}/api/v2/alerts`;
      },
    }),
  );
  return {
    name: 'alertmanagerAlert',
    close: post.close,
    async send(n) {
      const alert = {
        labels: { alertname: n.detector, severity: n.severity, type: n.type, key: n.group },
        annotations: { summary: summary(n), ...details(n) },
        startsAt: n.startsAt,
        endsAt: n.endsAt,
      };
      await post.send(JSON.stringify([alert]));
    },
  };
}

/** Hands each notification to `fn`; a rejection or throw is retried like a failed POST. */
export function callbackAlert(
  fn: (notification: AlertNotification) => void | Promise<void>,
): AlertDestination {
  const check = checkOptions('callbackAlert', undefined, 'fn');
  if (typeof fn !== 'function') check.argument(shapeOf(fn), 'use a function (notification) => …');
  check.done();
  return {
    name: 'callbackAlert',
    async send(n) {
      await fn(n);
    },
  };
}

const PAGERDUTY_SEVERITY = {
  low: 'info',
  medium: 'warning',
  high: 'error',
  critical: 'critical',
} as const;

/** The notification's facts as flat strings (PagerDuty's custom_details, Alertmanager's annotations). */
function details(n: AlertNotification): Record<string, string> {
  const d: Record<string, string> = {
    detector: n.detector,
    type: n.type,
    count: String(n.count),
    threshold: String(n.threshold),
    detections: String(n.detections),
    key: n.key,
    first_event: n.evidence.first,
    last_event: n.evidence.last,
    event_id: n.event.id,
    time: n.event.time,
  };
  if (n.window_s !== undefined) d.window_s = String(n.window_s);
  if (n.user?.id) d.user_id = n.user.id;
  if (n.user?.hash) d.user_hash = n.user.hash;
  if (n.client) d.client = n.client.id;
  if (n.source) d.source_ip = n.source.ip;
  return d;
}

/**
 * The destination's URL (option `at`) and core's HTTP options, checked with every other problem
 * reported on `check`: core's resolveHttp throws them all at once.
 */
function http(
  check: OptionCheck<unknown>,
  at: string,
  spec: Omit<HttpSpec, 'format' | 'contentType'>,
  fallback?: string,
): HttpTarget {
  let url = check.o[at] ?? fallback;
  try {
    if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError();
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError();
    if (parsed.username !== '' || parsed.password !== '') {
      check.issue(
        at,
        'a URL with credentials (user:password@)',
        `remove them and ${spec.credentials}`,
      );
      url = REPORTED;
    }
  } catch {
    // Shown by its shape, never its text: a Slack URL's path is its credential.
    check.issue(at, shapeOf(url), 'use an absolute http(s) URL');
    url = REPORTED;
  }
  if (check.o.format !== undefined)
    check.issue('format', shapeOf(check.o.format), 'leave it out: alerts are JSON');
  return resolveHttp(check as OptionCheck<HttpCommonOptions>, url, {
    ...spec,
    known: [...spec.known, 'format'],
    format: 'native',
    contentType: 'application/json',
  });
}

/**
 * POSTs through core's sender, one per request when headers differ per request (a signature), so
 * close() can abort every request in flight.
 */
function poster(target: HttpTarget) {
  const open = new Set<HttpSender>();
  return {
    async send(body: string, headers?: Record<string, string>): Promise<void> {
      const sender = httpSender(
        headers ? { ...target, headers: { ...target.headers, ...headers } } : target,
      );
      open.add(sender);
      try {
        await drain(await sender.send(body));
      } finally {
        open.delete(sender);
      }
    },
    async close(): Promise<void> {
      await Promise.all([...open].map((sender) => sender.close()));
    },
  };
}
