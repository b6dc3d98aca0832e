// storeSink through a real auditor over a real Express app on 127.0.0.1:0: the events a login
// start and bearer-token API calls make land in PostgreSQL with their typed columns filled from
// the events themselves (pseudonymised user, token fingerprint, flow id, source address), and no
// token, nonce, state or key reaches a row.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { createAuditor, memorySink, sinkErrorChannel, type AuditEvent } from '@authtrail/core';
import { authtrail } from '@authtrail/express';
import { storeSink, type Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import { PG_URL, testSchema } from './support.js';

const db = testSchema('t_sink');
const FINGERPRINT_KEY = 'sink-test-fingerprint-key-0123456789abcdef';
const PSEUDONYM_KEY = 'sink-test-pseudonym-key-0123456789abcdef';
// Canaries: none of these may be found in any column of any row.
const NONCE = 'nonce-Canary-8d1f5e0a2b';
const STATE = 'state-Canary-4c7a9e13f6';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const TOKEN = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'alice-subject', client_id: 'web', iss: 'https://op.example', exp: 4102444800 })}.c2lnbmF0dXJlLWNhbmFyeQ`;

let server: Server;
afterAll(async () => {
  await db.drop();
  if (server === undefined) return;
  // fetch keeps its connections alive: end them, or close() waits for them.
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('events of a real Express app reach PostgreSQL with typed columns from the events, and no secret', async () => {
  const store: Store = postgresStore({ connectionString: PG_URL, schema: db.schema });
  const copy = memorySink();
  const app = express();
  const auditor = createAuditor({
    sinks: [storeSink(store), copy],
    keys: { fingerprint: FINGERPRINT_KEY, pseudonym: PSEUDONYM_KEY },
    pseudonymize: true,
  });
  app.use(authtrail({ auditor }));
  app.get('/login', (_req, res) => {
    const url = new URL('https://op.example/authorize');
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'http://127.0.0.1/callback',
      scope: 'openid',
      nonce: NONCE,
      state: STATE,
    }).toString();
    res.redirect(url.href);
  });
  app.get('/api/items', (_req, res) => res.json([]));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await fetch(`${base}/login`, { redirect: 'manual' });
  for (let i = 0; i < 3; i++)
    await fetch(`${base}/api/items`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await auditor.close();

  const events = copy.events as AuditEvent[];
  const start = events.find((e) => e.type === 'authn.login_start.success');
  const calls = events.filter((e) => e.oauth?.token?.fingerprint !== undefined);
  expect(start?.flow?.id).toEqual(expect.any(String));
  expect(calls).toHaveLength(3);
  expect(calls[0]!.user?.hash).toEqual(expect.any(String));

  const { rows } = await db.admin.query(
    `SELECT id::text, type, outcome, user_id, user_hash, client_id, host(source_ip) AS ip, flow_id, token_fp,
            service, instance, route, status, event, (SELECT string_agg(t::text, ' ') FROM (SELECT e.*) t) AS everything
     FROM "${db.schema}".authtrail_events e ORDER BY time, id`,
  );
  expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id));
  for (const [i, row] of rows.entries()) {
    const e = events[i]!;
    expect(row).toMatchObject({
      type: e.type,
      outcome: e.outcome,
      user_id: e.user?.id ?? null,
      user_hash: e.user?.hash ?? null,
      client_id: e.client?.id ?? null,
      ip: e.source?.ip ?? null,
      flow_id: e.flow?.id ?? null,
      token_fp: e.oauth?.token?.fingerprint ?? null,
      service: e.observer.service,
      instance: e.observer.instance,
      route: e.http?.route ?? null,
      status: e.http?.status ?? null,
      event: JSON.parse(JSON.stringify(e)),
    });
  }
  // What the columns hold, for the questions the store answers: a pseudonym, not the subject.
  expect(rows.filter((r) => r.token_fp !== null).map((r) => r.user_hash)).toEqual(
    calls.map((e) => e.user!.hash),
  );
  expect(rows.some((r) => r.ip === '127.0.0.1')).toBe(true);
  const everything = rows.map((r) => r.everything as string).join('\n');
  for (const secret of [
    TOKEN,
    TOKEN.split('.')[2]!,
    NONCE,
    STATE,
    FINGERPRINT_KEY,
    PSEUDONYM_KEY,
    'alice-subject',
  ])
    expect(everything).not.toContain(secret);
});

test('storeSink reports every bad option at once', () => {
  expect(() => storeSink({} as Store, { name: '', closeStore: 'yes', extra: 1 } as never)).toThrow(
    expect.objectContaining({
      code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
      issues: [
        expect.objectContaining({ path: 'storeSink(store)' }),
        expect.objectContaining({ path: 'storeSink(store, { name })' }),
        expect.objectContaining({ path: 'storeSink(store, { closeStore })' }),
        expect.objectContaining({ path: 'storeSink(store, { extra })' }),
      ],
    }),
  );
});

test('a store that cannot be reached: the write rejects with the typed error, retried by the queue, and no message holds the password', async () => {
  const PASSWORD = 'Sink-Canary-pw-5Rt9';
  const published: { sink: string; error: Error & { code: string } }[] = [];
  const listen = (message: unknown) => published.push(message as (typeof published)[number]);
  sinkErrorChannel.subscribe(listen);
  try {
    const auditor = createAuditor({
      sinks: [
        storeSink(
          postgresStore({
            connectionString: `postgres://app:${PASSWORD}@127.0.0.1:1/audit`,
            connectTimeoutMs: 500,
          }),
        ),
      ],
      keys: { fingerprint: FINGERPRINT_KEY },
      delivery: { retries: 2, minRetryDelayMs: 10, maxRetryDelayMs: 20, handleSignals: false },
    });
    auditor.record({ type: 'app.export.success', user: { id: 'u-1' } });
    await auditor.close();
    expect(auditor.stats().sinks.store).toMatchObject({ failed: 3, retried: 2, dropped: 1 });
  } finally {
    sinkErrorChannel.unsubscribe(listen);
  }
  expect(published.map((m) => [m.sink, m.error.code])).toEqual(
    [1, 2, 3].map(() => ['store', 'ERR_AUTHTRAIL_STORE_UNAVAILABLE']),
  );
  expect(published[0]!.error.message).toContain('postgres://app@127.0.0.1:1/audit');
  const seen = published.map(
    (m) => `${m.error.message} ${m.error.stack} ${JSON.stringify(m.error)}`,
  );
  expect(seen.join('\n')).not.toContain(PASSWORD);
});
