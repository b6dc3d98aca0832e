// Shared by the console's tests: a real PostgreSQL store in a schema of the test's own (dropped
// after), filled by real auditors, and an HTTP client that shows every header and byte.
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
import { storeSink, type Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';

export const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const T0 = Date.parse('2026-03-02T10:00:00.000Z');
export const RANGE = 'from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z';
export const FINGERPRINT_KEY = 'console-test-fingerprint-key-0123456789abcdef';
/** Stored as another tool would have written them: core's own auditor strips these. */
export const HOSTILE_UA = '<script>alert(1)</script><img src=x onerror=alert(2)>';
export const HOSTILE_USER = 'mallory\u202egnp.exe\u2066\x1b[31m';

export function schemaName(prefix: string): string {
  return `t_${prefix}_${randomBytes(5).toString('hex')}`;
}

export function openStore(schema: string): Store {
  return postgresStore({ connectionString: PG_URL, schema });
}

export async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}

/** An auditor writing into `store` (not closing it), its clock `now()`. */
export function storeAuditor(store: Store, service: string, now?: () => number) {
  return createAuditor({
    sinks: [storeSink(store, { closeStore: false })],
    service,
    keys: { fingerprint: FINGERPRINT_KEY },
    heartbeat: false,
    clock: now,
  });
}

/** The console's own auditor in the tests: its access events, kept in memory to read back. */
export function accessAuditor() {
  const sink = memorySink();
  const auditor = createAuditor({
    sinks: [sink],
    service: 'console',
    heartbeat: false,
    delivery: { handleSignals: false },
  });
  return { auditor, sink };
}

const http = (method: string, route: string, status: number) => ({
  method,
  route,
  path: route,
  status,
  duration_ms: 4,
});

/**
 * A day of traffic at T0: two login flows of alice (one failing), a token and its API calls, five
 * failed sign-ins of bob, a detection, and one hostile event inserted as another tool would.
 * Returns every event stored.
 */
export async function seed(store: Store): Promise<AuditEvent[]> {
  let now = T0;
  const copy = memorySink();
  const auditor = (service: string) =>
    createAuditor({
      sinks: [storeSink(store, { closeStore: false }), copy],
      service,
      keys: { fingerprint: FINGERPRINT_KEY },
      heartbeat: false,
      clock: () => now,
    });
  const rp = auditor('web-rp');
  const op = auditor('idp');
  const api = auditor('orders-api');
  const at = (ms: number, who: typeof rp, event: ManualEvent) => {
    now = T0 + ms;
    who.record(event);
  };
  const alice = { source: { ip: '203.0.113.7' }, client: { id: 'web' } };
  at(0, rp, {
    type: 'authn.login_start.success',
    observer: { role: 'rp' },
    flow: { id: 'flow-one-aaaa' },
    http: http('GET', '/login', 302),
    ...alice,
  });
  at(1500, op, {
    type: 'authn.login.failure',
    reason: 'invalid_credentials',
    observer: { role: 'op' },
    user: { id: 'alice' },
    flow: { id: 'flow-one-aaaa' },
    ...alice,
  });
  at(2250, rp, {
    type: 'authn.login.failure',
    reason: 'access_denied',
    observer: { role: 'rp' },
    flow: { id: 'flow-one-aaaa' },
    http: http('GET', '/callback', 302),
    ...alice,
  });
  const ok = { ...alice, user: { id: 'alice' }, flow: { id: 'flow-two-bbbb' } };
  at(62_000, op, { type: 'authn.login.success', observer: { role: 'op' }, ...ok });
  at(62_500, op, {
    type: 'oauth.token_issue.success',
    observer: { role: 'op' },
    oauth: { token: { type: 'access_token', fingerprint: 'tok-fp-1', verified: true } },
    ...ok,
  });
  for (let i = 0; i < 3; i++)
    at(120_000 + i * 1000, api, {
      type: 'api.access.success',
      oauth: { token: { type: 'access_token', fingerprint: 'tok-fp-1', verified: true } },
      user: { id: 'alice' },
      client: { id: 'web' },
      source: { ip: '203.0.113.7' },
      http: http('GET', '/api/orders', 200),
    });
  for (let i = 0; i < 5; i++)
    at(3_600_000 + i * 10_000, op, {
      type: 'authn.login.failure',
      reason: 'invalid_credentials',
      observer: { role: 'op' },
      user: { id: 'bob' },
      client: { id: 'mobile' },
      source: { ip: '198.51.100.9' },
    });
  at(3_650_000, op, {
    type: 'authn.bruteforce.detected',
    observer: { role: 'op' },
    user: { id: 'bob' },
    source: { ip: '198.51.100.9' },
    detection: {
      detector: 'brute_force',
      key: 'Zm9vYmFyLWtleWVkLWhhc2g',
      severity: 'high',
      count: 5,
      threshold: 5,
      window_s: 300,
      first: '01938f5e-6b00-7000-8000-0000000000a1',
      last: '01938f5e-6b00-7000-8000-0000000000a2',
    },
  });
  await Promise.all([rp.close(), op.close(), api.close()]);
  const events = [...copy.events];
  // As another tool wrote it: core would have stripped the controls.
  const hostile: AuditEvent = {
    ...events[1]!,
    id: '01958f3e-8a1c-7b1e-9c4d-2f6a0b3c4d5e',
    time: new Date(T0 + 7_200_000).toISOString(),
    user: { id: HOSTILE_USER },
    source: { ip: '192.0.2.66', user_agent: HOSTILE_UA },
    flow: undefined,
  };
  await store.insert([hostile]);
  events.push(hostile);
  return events;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One HTTP request to 127.0.0.1:port, nothing followed, every byte read. */
export function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** The session cookie's `name=value` from a Set-Cookie answer. */
export function sessionCookie(reply: Reply): string {
  const set = reply.headers['set-cookie']?.[0] ?? '';
  return set.split(';')[0]!;
}

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
