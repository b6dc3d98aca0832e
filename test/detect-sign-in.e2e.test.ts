// Detection end to end: a real oidc-provider (the testbed's) with its own sign-in form, audited with
// a detectors() sink beside a file sink in a child process. Ten wrong passwords for one account from
// one IP, posted by a scripted browser, give exactly one authn.bruteforce.detected within a second
// of the tenth answer, naming the first and the tenth failure as its evidence; the right password
// then gives authn.bruteforce_success.detected (the provider's login success, seen as the same
// account). The brute force is also an alert at a real webhook receiver, signed per Standard Webhooks.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditEvent } from '@authtrail/core';
import { Browser } from '@authtrail/testbed/browser.cjs';
import accounts from '@authtrail/testbed/accounts.cjs';
import { startRpProcess, type RpProcess } from './support/rp-process';

const { AUDIT_FINGERPRINT_KEY, RP_CLIENT, USERS } = accounts;
const hash = (value: string) =>
  createHmac('sha256', AUDIT_FINGERPRINT_KEY)
    .update(value)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
const WRONG = Array.from({ length: 10 }, (_, i) => `not-wonderland-canary-${i}-7c1e`);

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const received: { headers: IncomingHttpHeaders; body: string; at: number }[] = [];
let receiver: Server;
let op: RpProcess;
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  op = await startRpProcess('detect-sign-in-server.mjs', {
    WEBHOOK_URL: `http://127.0.0.1:${port}/alerts`,
    WEBHOOK_SECRET: SECRET,
  });
});
afterAll(async () => {
  await op?.stop();
  receiver?.close();
});

/** A Standard Webhooks verifier, from the specification: HMAC-SHA256 of "id.timestamp.body". */
function verified({ headers, body }: { headers: IncomingHttpHeaders; body: string }): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

test('ten wrong passwords for one account at the provider form give one authn.bruteforce.detected within 1 s, its evidence the first and the tenth failure; and one signed alert at a webhook receiver; the right one then gives authn.bruteforce_success.detected', async () => {
  const browser = new Browser();
  const url = new URL(`${op.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: RP_CLIENT.id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://127.0.0.1:9/callback',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const page = await browser.go(url.href);
  const action = new URL(/action="([^"]+\/login)"/.exec(page.body)![1]!, op.issuer).href;

  for (const password of WRONG) {
    const answer = await browser.request(action, {
      method: 'POST',
      form: { username: 'alice', password },
    });
    expect(answer.status).toBe(200);
  }
  // The tenth answer is out: the detection must reach the log within a second, with no flush.
  const answered = Date.now();
  let detected: AuditEvent[] = [];
  while (Date.now() - answered < 1000) {
    detected = parse(await op.answer<string>('/raw')).filter(
      (e) => e.type === 'authn.bruteforce.detected',
    );
    if (detected.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(detected).toHaveLength(1);
  expect(Date.now() - answered).toBeLessThan(1000);

  const events = await op.events();
  const failures = events.filter((e) => e.type === 'authn.login.failure');
  expect(failures).toHaveLength(10);
  const found = events.filter((e) => e.outcome === 'detected');
  expect(found).toHaveLength(1);
  const [d] = found;
  expect(d).toMatchObject({
    type: 'authn.bruteforce.detected',
    observer: { role: 'op', service: 'demo-op' },
    user: { hash: hash('alice') },
    source: { ip: '127.0.0.1' },
    detection: {
      detector: 'brute_force',
      key: hash(`${hash('alice')}\u0000127.0.0.1`),
      count: 10,
      threshold: 10,
      window_s: 900,
      first: failures[0]!.id,
      last: failures[9]!.id,
      first_time: failures[0]!.time,
    },
  });
  // Neither the account nor the IP in clear in the key.
  expect(d!.detection!.key).not.toMatch(/alice|127\.0\.0\.1/);

  // The alert reached the webhook receiver within a second of the tenth answer, signed, naming the
  // detection and its evidence, and a tampered body would not verify.
  while (received.length === 0 && Date.now() - answered < 1000)
    await new Promise((resolve) => setTimeout(resolve, 20));
  expect(received).toHaveLength(1);
  expect(received[0]!.at - answered).toBeLessThan(1000);
  expect(verified(received[0]!)).toBe(true);
  expect(verified({ ...received[0]!, body: received[0]!.body.replace('alert', 'alerT') })).toBe(
    false,
  );
  const alert = JSON.parse(received[0]!.body) as {
    type: string;
    data: { detector: string; key: string; evidence: { first: string; last: string } };
  };
  expect(alert).toMatchObject({
    type: 'authtrail.alert.firing',
    data: {
      detector: 'brute_force',
      key: d!.detection!.key,
      evidence: { first: failures[0]!.id, last: failures[9]!.id },
    },
  });

  // Now the right password: the provider signs alice in (user.id, where the failures carried the
  // hash of the name typed), minutes inside the 10 allowed after the detection.
  const mark = (await op.events()).length;
  await browser.go(action, {
    method: 'POST',
    form: { username: 'alice', password: USERS.alice!.password },
  });
  const after = (await op.events()).slice(mark);
  const login = after.find((e) => e.type === 'authn.login.success');
  expect(login?.user?.id).toBe('alice');
  const takeover = after.filter((e) => e.outcome === 'detected');
  expect(takeover).toHaveLength(1);
  expect(takeover[0]).toMatchObject({
    type: 'authn.bruteforce_success.detected',
    user: { id: 'alice' },
    detection: {
      detector: 'success_after_brute_force',
      severity: 'critical',
      key: hash(hash('alice')),
      first: failures[0]!.id,
      last: login!.id,
    },
  });

  // No password, wrong or right, anywhere in the log.
  const text = await op.text();
  for (const password of [...WRONG, USERS.alice!.password]) {
    expect(text).not.toContain(password);
    for (const { body } of received) expect(body).not.toContain(password);
  }
});
