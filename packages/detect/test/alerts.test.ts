// Alerts from a real auditor's detections to real HTTP receivers on 127.0.0.1:0: what each
// receiver got is parsed back, the webhook's signature checked by a verifier written from the
// Standard Webhooks specification.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuditor, type ManualEvent } from '@authtrail/core';
import {
  alertmanagerAlert,
  callbackAlert,
  detectors,
  pagerDutyAlert,
  slackAlert,
  webhookAlert,
  type AlertNotification,
  type AlertsOptions,
  type Detector,
  type DetectorsOptions,
} from '../src/index.js';
import { only } from './support.js';

const KEY = 'alerts-test-fingerprint-key-8c2d4e6f1a3b';
const SECRET = `whsec_${Buffer.from('alerts-test-signing-secret-0123456789').toString('base64')}`;
const ROUTING_KEY = 'R0ut1ngK3yS3cr3tAbCdEf0123456789';
const SLACK_PATH = '/services/T000SECRET/B000SECRET/XXXXslackpathsecret';

interface PagerDutyEvent {
  routing_key: string;
  dedup_key: string;
  event_action: string;
  payload: { summary: string };
}
interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver answering each request with the next status given (200 once they run out). */
async function receiver(...statuses: number[]) {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, got };
}
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fast grouping for tests; `alerts` adds or overrides. */
function setup(alerts: AlertsOptions, options: DetectorsOptions = {}) {
  const sink = detectors({
    ...only('brute_force', { threshold: 3 }),
    ...options,
    alerts: {
      groupWaitMs: 50,
      groupIntervalMs: 100,
      repeatIntervalMs: 60_000,
      minRetryDelayMs: 10,
      ...alerts,
    },
  });
  const auditor = createAuditor({
    service: 'alerts-test',
    sinks: [sink],
    keys: { fingerprint: KEY },
    delivery: { handleSignals: false },
  });
  return { auditor, sink };
}

const failure = (account: string, ip: string): ManualEvent => ({
  type: 'authn.login.failure',
  reason: 'invalid_credentials',
  observer: { role: 'op' },
  user: { id: account },
  source: { ip },
});

/** Fires three times at once for a key: one detection per rule, all of one (detector, key). */
const triple: Detector = {
  name: 'consent_storm',
  type: 'oauth.consent_storm.detected',
  severity: 'low',
  rule: [
    { kind: 'count', threshold: 1, window_s: 1 },
    { kind: 'count', threshold: 1, window_s: 2 },
    { kind: 'count', threshold: 1, window_s: 3 },
  ],
  subject: ['user', 'ip'],
  read: (e) => (e.type === 'oauth.consent_grant.failure' ? { key: e.user!.id! } : undefined),
};
const consent = (user: string): ManualEvent => ({
  type: 'oauth.consent_grant.failure',
  observer: { role: 'op' },
  user: { id: user },
  source: { ip: '198.51.100.9' },
});
const custom: DetectorsOptions = { builtIns: false, custom: [triple] };

/** A Standard Webhooks verifier, written from the specification. */
function verify(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as Error & { code: string };
  }
  throw new Error('expected an error');
};

describe('options', () => {
  test('a destination reports every problem at once, never showing a secret', () => {
    const error = invalid(() =>
      webhookAlert({ url: 'ftp://hooks.example.com/x', secret: 'whsec_tooShortSecretValue' }),
    );
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.message).toContain('webhookAlert({ url })');
    expect(error.message).toContain('webhookAlert({ secret })');
    expect(error.message).not.toContain('tooShortSecretValue');

    const slack = invalid(() =>
      slackAlert({ webhookUrl: `https://user:pw@hooks.slack.com${SLACK_PATH}`, timeoutMs: 0 }),
    );
    expect(slack.message).toContain('slackAlert({ webhookUrl }): received a URL with credentials');
    expect(slack.message).toContain('slackAlert({ timeoutMs })');
    expect(slack.message).not.toContain('SECRET');

    const pd = invalid(() => pagerDutyAlert({ routingKey: 'has spaces in it' }));
    expect(pd.message).toContain('pagerDutyAlert({ routingKey })');
    expect(pd.message).not.toContain('spaces');

    expect(invalid(() => callbackAlert('nope' as never)).code).toBe(
      'ERR_AUTHTRAIL_INVALID_OPTIONS',
    );
  });

  test('detectors() checks its alerts option with its other options', () => {
    const error = invalid(() =>
      detectors({ alerts: { to: [{} as never], groupWaitMs: -1, nope: 1 } as never }),
    );
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.message).toContain('detectors({ alerts.to[0] })');
    expect(error.message).toContain('detectors({ alerts.groupWaitMs })');
    expect(error.message).toContain('detectors({ alerts.nope })');
    expect(invalid(() => detectors({ alerts: [] })).message).toContain('detectors({ alerts })');
  });
});

describe('webhookAlert', () => {
  test('a brute force gives one webhook, signed per Standard Webhooks; a tampered body fails', async () => {
    const hook = await receiver();
    const { auditor, sink } = setup({
      to: [webhookAlert({ url: `${hook.url}/hook`, secret: SECRET })],
    });
    for (let i = 0; i < 5; i++) auditor.record(failure('alice', '203.0.113.7'));
    await auditor.flush();
    await until(() => hook.got.length === 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(hook.got).toHaveLength(1);

    const [{ path, headers, body }] = hook.got as [Received];
    expect(path).toBe('/hook');
    expect(headers['content-type']).toBe('application/json');
    expect(verify(SECRET, headers, body)).toBe(true);
    expect(verify(SECRET, headers, body.replace('alice', 'mallory'))).toBe(false);
    expect(
      verify(
        `whsec_${Buffer.from('another-secret-of-enough-bytes!!').toString('base64')}`,
        headers,
        body,
      ),
    ).toBe(false);

    const message = JSON.parse(body) as { type: string; data: AlertNotification };
    expect(message.type).toBe('authtrail.alert.firing');
    expect(headers['webhook-id']).toBe(message.data.id);
    expect(message.data).toMatchObject({
      status: 'firing',
      detector: 'brute_force',
      type: 'authn.bruteforce.detected',
      severity: 'medium',
      count: 3,
      threshold: 3,
      detections: 1,
      user: { id: 'alice' },
      source: { ip: '203.0.113.7' },
    });
    expect(body).not.toContain(SECRET.slice(6));
    await auditor.close();
    expect(sink.stats().alerts).toEqual({ sent: 1, failed: 0, retried: 0, dropped: 0, groups: 0 });
  });
});

describe('grouping', () => {
  test('detections of one (detector, key) within the group wait are one notification; a second key is another; each resolves once quiet', async () => {
    const got: AlertNotification[] = [];
    const { auditor, sink } = setup(
      { to: [callbackAlert((n) => void got.push(n))], groupWaitMs: 100, resolveAfterMs: 300 },
      custom,
    );
    auditor.record(consent('u1'));
    auditor.record(consent('u1'));
    await auditor.flush();
    expect(sink.stats().detections).toBe(3);
    auditor.record(consent('u2'));
    await auditor.flush();
    await until(() => got.length === 2);
    const [a, b] = got as [AlertNotification, AlertNotification];
    expect(a).toMatchObject({ status: 'firing', detector: 'consent_storm', detections: 3 });
    expect(b).toMatchObject({ status: 'firing', detector: 'consent_storm', detections: 3 });
    expect(a.group).not.toBe(b.group);
    expect([a.user?.id, b.user?.id].sort()).toEqual(['u1', 'u2']);
    expect(sink.stats().alerts!.groups).toBe(2);

    await until(() => got.length === 4);
    const resolved = got.slice(2);
    expect(resolved.map((n) => n.status)).toEqual(['resolved', 'resolved']);
    expect(resolved.map((n) => n.group).sort()).toEqual([a.group, b.group].sort());
    expect(sink.stats().alerts!.groups).toBe(0);
    await auditor.close();
  });

  test('new detections in a notified group are sent after the group interval, not at once', async () => {
    const got: AlertNotification[] = [];
    const { auditor } = setup(
      {
        to: [callbackAlert((n) => void got.push(n))],
        groupWaitMs: 20,
        groupIntervalMs: 2000,
        resolveAfterMs: 5000,
      },
      custom,
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    await until(() => got.length === 1);
    const first = Date.now();
    // A second episode of the same key (the 1 s rule's window has passed).
    await new Promise((r) => setTimeout(r, 1100));
    auditor.record(consent('u1'));
    await auditor.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(1);
    await until(() => got.length === 2);
    expect(Date.now() - first).toBeGreaterThanOrEqual(1950);
    expect(got[1]).toMatchObject({ status: 'firing', detections: 4, group: got[0]!.group });
    await auditor.close();
  });

  test('a firing group with nothing new is sent again after the repeat interval', async () => {
    const got: AlertNotification[] = [];
    const { auditor } = setup(
      {
        to: [callbackAlert((n) => void got.push(n))],
        groupWaitMs: 10,
        repeatIntervalMs: 150,
        resolveAfterMs: 2000,
      },
      custom,
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    await until(() => got.length === 3);
    expect(got.map((n) => n.status)).toEqual(['firing', 'firing', 'firing']);
    expect(new Set(got.map((n) => n.group)).size).toBe(1);
    expect(new Set(got.map((n) => n.id)).size).toBe(3);
    await auditor.close();
  });

  test('without resolveAfterMs a group resolves one detection window after its last detection', async () => {
    const got: AlertNotification[] = [];
    const single: Detector = { ...triple, rule: { kind: 'count', threshold: 1, window_s: 1 } };
    const { auditor } = setup(
      { to: [callbackAlert((n) => void got.push(n))], groupWaitMs: 10 },
      {
        builtIns: false,
        custom: [single],
      },
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    await until(() => got.length === 1);
    const fired = Date.now();
    await until(() => got.length === 2, 3000);
    expect(got[1]!.status).toBe('resolved');
    expect(Date.now() - fired).toBeGreaterThanOrEqual(900);
    await auditor.close();
  });

  test('holds at most maxGroups groups: the oldest makes room', async () => {
    const got: AlertNotification[] = [];
    const { auditor, sink } = setup(
      { to: [callbackAlert((n) => void got.push(n))], groupWaitMs: 60_000, maxGroups: 2 },
      custom,
    );
    for (const user of ['u1', 'u2', 'u3']) auditor.record(consent(user));
    await auditor.flush();
    // u1's group had sent nothing yet: it is dropped, and counted.
    expect(sink.stats().alerts).toMatchObject({ groups: 2, dropped: 1 });
    await auditor.close();
    expect(got.map((n) => n.user?.id).sort()).toEqual(['u2', 'u3']);
  });

  test('close() sends a group still in its group wait', async () => {
    const got: AlertNotification[] = [];
    const { auditor } = setup(
      { to: [callbackAlert((n) => void got.push(n))], groupWaitMs: 60_000 },
      custom,
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    expect(got).toHaveLength(0);
    await auditor.close();
    expect(got.map((n) => n.status)).toEqual(['firing']);
  });
});

describe('pagerDutyAlert', () => {
  test('triggers, then resolves with the same dedup_key', async () => {
    const pd = await receiver(202, 202);
    const { auditor } = setup(
      {
        to: [pagerDutyAlert({ routingKey: ROUTING_KEY, url: `${pd.url}/v2/enqueue` })],
        resolveAfterMs: 200,
      },
      custom,
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    await until(() => pd.got.length === 2);
    const [trigger, resolve] = pd.got.map((r) => JSON.parse(r.body) as PagerDutyEvent);
    expect(pd.got.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue']);
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: { severity: 'info', source: '198.51.100.9', component: 'consent_storm' },
    });
    expect(trigger!.payload.summary).toContain('consent_storm firing');
    expect(resolve).toEqual({
      routing_key: ROUTING_KEY,
      dedup_key: trigger!.dedup_key,
      event_action: 'resolve',
    });
    await auditor.close();
  });
});

describe('alertmanagerAlert', () => {
  test('posts to /api/v2/alerts with labels, and an endsAt in the past once resolved', async () => {
    const am = await receiver();
    const { auditor } = setup(
      { to: [alertmanagerAlert({ url: `${am.url}/am/` })], resolveAfterMs: 150 },
      custom,
    );
    auditor.record(consent('u1'));
    await auditor.flush();
    await until(() => am.got.length === 2);
    const [firing, resolved] = am.got.map(
      (r) => (JSON.parse(r.body) as AlertmanagerAlert[])[0]!,
    ) as [AlertmanagerAlert, AlertmanagerAlert];
    expect(am.got[0]!.path).toBe('/am/api/v2/alerts');
    expect(firing.labels).toEqual({
      alertname: 'consent_storm',
      severity: 'low',
      type: 'oauth.consent_storm.detected',
      key: expect.stringMatching(/^[\w-]{22}$/),
    });
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.startsAt).toBe(firing.startsAt);
    expect(Date.parse(firing.endsAt)).toBeGreaterThan(Date.now() - 1000);
    expect(Date.parse(resolved.endsAt)).toBeLessThanOrEqual(Date.now());
    expect(firing.annotations.user_id).toBe('u1');
    await auditor.close();
  });
});

describe('slackAlert', () => {
  test('escapes hostile user ids: no mention, no link, no fake line', async () => {
    const slack = await receiver();
    const hostile = '<!channel> <http://evil|click> @here & me\nFAKE: resolved';
    const { auditor } = setup(
      { to: [slackAlert({ webhookUrl: `${slack.url}${SLACK_PATH}` })] },
      custom,
    );
    auditor.record(consent(hostile));
    await auditor.flush();
    await until(() => slack.got.length === 1);
    expect(slack.got[0]!.path).toBe(SLACK_PATH);
    const payload = JSON.parse(slack.got[0]!.body) as { text: string; blocks: unknown[] };
    const all = JSON.stringify(payload);
    expect(all).toContain('&lt;!channel&gt; &lt;http://evil|click&gt; @\u2060here &amp; me');
    expect(all).not.toMatch(/<!channel>|<http:|@here/);
    expect(all).not.toContain('me\\nFAKE');
    expect(payload.blocks.length).toBeGreaterThan(0);
    await auditor.close();
  });
});

describe('delivery', () => {
  test('a receiver answering 500 then 200 gets the notification again; both counted', async () => {
    const hook = await receiver(500);
    const { auditor, sink } = setup({ to: [webhookAlert({ url: hook.url, secret: SECRET })] });
    for (let i = 0; i < 3; i++) auditor.record(failure('bob', '203.0.113.8'));
    await auditor.flush();
    await until(() => hook.got.length === 2);
    await until(() => sink.stats().alerts!.sent === 1);
    // Same message id, so a receiver can drop a retry it already processed; signed again.
    expect(hook.got[1]!.headers['webhook-id']).toBe(hook.got[0]!.headers['webhook-id']);
    expect(verify(SECRET, hook.got[1]!.headers, hook.got[1]!.body)).toBe(true);
    expect(sink.stats().alerts).toMatchObject({ sent: 1, failed: 1, retried: 1, dropped: 0 });
    await auditor.close();
  });

  test('failures never show the Slack path or the routing key, and are dropped after the retries', async () => {
    const down = await receiver(500, 500, 500, 500, 500, 500);
    const errors: Error[] = [];
    const listen = (m: unknown) => errors.push((m as { error: Error }).error);
    subscribe('authtrail:alert-error', listen);
    try {
      const { auditor, sink } = setup(
        {
          to: [
            slackAlert({ webhookUrl: `${down.url}${SLACK_PATH}` }),
            pagerDutyAlert({ routingKey: ROUTING_KEY, url: `${down.url}/v2/enqueue` }),
          ],
          retries: 1,
        },
        custom,
      );
      auditor.record(consent('u1'));
      await auditor.flush();
      await until(() => sink.stats().alerts!.dropped === 2);
      expect(sink.stats().alerts).toMatchObject({ sent: 0, failed: 4, retried: 2, dropped: 2 });
      expect(errors).toHaveLength(4);
      for (const error of errors) {
        expect((error as Error & { code: string }).code).toBe('ERR_AUTHTRAIL_SINK_WRITE');
        expect(error.message).toMatch(/answered 500/);
        const shown = JSON.stringify({ ...error, message: error.message, stack: error.stack });
        expect(shown).not.toContain('SECRET');
        expect(shown).not.toContain(ROUTING_KEY);
      }
      expect(JSON.stringify(sink.stats())).not.toContain(ROUTING_KEY);
      await auditor.close();
    } finally {
      unsubscribe('authtrail:alert-error', listen);
    }
  });
});
