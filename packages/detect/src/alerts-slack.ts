import { summary, type AlertNotification } from './alerts.js';

/**
 * C0 and C1 controls (line breaks included) and bidirectional overrides: they could fake lines in
 * the message or reverse what it shows.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g; // eslint-disable-line no-control-regex
/** Slack's broadcast words; with a word joiner after `@` they no longer notify anyone. */
const BROADCAST = /@(channel|here|everyone)/gi;

/**
 * `value` made inert in Slack mrkdwn: control characters removed, `&`, `<` and `>` escaped (so
 * `<!channel>` or `<http://evil|click>` stays text), broadcast mentions defused, length capped.
 */
export function slackText(value: string, max = 300): string {
  return value
    .replace(CONTROL, '')
    .slice(0, max)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(BROADCAST, '@\u2060$1');
}

const ICON = { firing: ':rotating_light:', resolved: ':white_check_mark:' } as const;

/** The incoming-webhook body: `text` (notifications, clients without blocks) and `blocks`. */
export function slackPayload(n: AlertNotification): object {
  const title = `${ICON[n.status]} *${n.status === 'firing' ? 'Firing' : 'Resolved'}: ${slackText(n.detector)}* (${n.severity})`;
  const field = (label: string, value: string | undefined) =>
    value === undefined ? [] : [{ type: 'mrkdwn', text: `*${label}*\n${slackText(value)}` }];
  const fields = [
    ...field('Type', n.type),
    ...field('Count', `${n.count} (threshold ${n.threshold})`),
    ...field('User', n.user?.id ?? (n.user?.hash && `hash ${n.user.hash}`)),
    ...field('Client', n.client?.id),
    ...field('Source IP', n.source?.ip),
    ...field('Detections', String(n.detections)),
  ];
  return {
    text: slackText(summary(n), 1000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: title } },
      { type: 'section', fields: fields.slice(0, 10) },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: slackText(`event ${n.event.id} at ${n.event.time}; key ${n.key}`),
          },
        ],
      },
    ],
  };
}
