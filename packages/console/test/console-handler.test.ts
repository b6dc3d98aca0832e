// The console's server over real HTTP (Express), a real PostgreSQL store filled by real auditors,
// its access events read back from the console's own auditor.
import { randomBytes } from 'node:crypto';
import { get as httpGet, request as httpRequest, type Server } from 'node:http';
import express from 'express';
import type { IncomingMessage } from 'node:http';
import { consoleHandler, type ConsoleHandler } from '@authtrail/console';
import { compileQuery, type Store } from '@authtrail/store';
import { toEcs, toOcsf, type AuditEvent } from '@authtrail/schema';
import {
  HOSTILE_UA,
  HOSTILE_USER,
  RANGE,
  SECURITY_HEADERS,
  accessAuditor,
  call,
  dropSchema,
  openStore,
  portOf,
  schemaName,
  seed,
  sessionCookie,
  storeAuditor,
  type Reply,
} from './support.js';

const SCHEMA = schemaName('console');
const TOKEN = randomBytes(32).toString('base64url');
/** The `auth` option of the tests: a header names a user, whose roles are listed here. */
const USERS: Record<string, string[]> = {
  'vera-viewer': ['viewer'],
  'audrey-auditor': ['auditor'],
  'nobody-special': ['guest'],
};
const as = (user: string) => ({ 'x-test-user': user });

let store: Store;
let events: AuditEvent[];
let server: Server;
let port: number;
let handler: ConsoleHandler;
const access = accessAuditor();

beforeAll(async () => {
  store = openStore(SCHEMA);
  events = await seed(store);
  handler = consoleHandler({
    store,
    auditor: access.auditor,
    adminToken: TOKEN,
    auth: (req: IncomingMessage) => {
      const user = req.headers['x-test-user'];
      return typeof user === 'string' && USERS[user] ? { user, roles: USERS[user]! } : undefined;
    },
    tailPollMs: 100,
    tailRate: 5,
    heartbeatS: 1,
  });
  const app = express();
  app.use('/audit', handler);
  app.get('/', (_req, res) => void res.send('the app'));
  server = app.listen(0, '127.0.0.1');
  await new Promise((done) => server.once('listening', done));
  port = portOf(server);
}, 60_000);

afterAll(async () => {
  handler?.close();
  await new Promise((done) => server?.close(done));
  await access.auditor.close();
  await store?.close();
  await dropSchema(SCHEMA);
});

/** Access events recorded so far (flushed). */
async function accessEvents(): Promise<AuditEvent[]> {
  await access.auditor.flush();
  return access.sink.events;
}

const get = (path: string, headers: Record<string, string> = {}) =>
  call(port, 'GET', `/audit${path}`, headers);

let adminCookie = '';

describe('options', () => {
  test('reports every malformed option at once, naming each, never a secret', () => {
    let error: { code?: string; message?: string } = {};
    try {
      consoleHandler({
        store: {} as Store,
        auditor: undefined as never,
        adminToken: 'short-secret-value',
        basePath: 'no-slash',
        tailRate: 0,
      });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    for (const path of [
      '{ store }',
      '{ auditor }',
      '{ adminToken }',
      '{ basePath }',
      '{ tailRate }',
    ])
      expect(error.message).toContain(`consoleHandler(${path})`);
    expect(error.message).toContain('a string of 18 characters');
    expect(error.message).not.toContain('short-secret-value');
  });
});

describe('the one-time admin token', () => {
  test('a wrong token is refused with 401 JSON and opens nothing', async () => {
    const reply = await get(`/login?token=${'x'.repeat(43)}`);
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.json.error.code).toBe('invalid_token');
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  test('the first GET with it opens an admin session (HttpOnly, SameSite=Strict, Path=mount) and redirects without the token; it never works again', async () => {
    const first = await get(`/login?token=${TOKEN}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/audit/');
    const set = first.headers['set-cookie']![0]!;
    expect(set).toMatch(/^authtrail_console=[\w-]{43}; /);
    expect(set).toContain('; HttpOnly');
    expect(set).toContain('; SameSite=Strict');
    expect(set).toContain('; Path=/audit;');
    expect(set).toContain('; Max-Age=43200');
    // Plain HTTP, no secureCookie option: a Secure cookie would never come back.
    expect(set).not.toContain('Secure');
    adminCookie = sessionCookie(first);
    const me = await get('/api/me', { cookie: adminCookie });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ user: 'admin', roles: ['admin'], csrfToken: expect.any(String) });
    // Neither the session id nor the token in a body.
    expect(me.text).not.toContain(adminCookie.split('=')[1]);
    expect(me.text).not.toContain(TOKEN);

    const again = await get(`/login?token=${TOKEN}`);
    expect(again.status).toBe(401);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.text).not.toContain(TOKEN);
  });

  test('Secure is set when the option says so (TLS ended by a proxy)', async () => {
    const secure = consoleHandler({
      store,
      auditor: access.auditor,
      adminToken: TOKEN,
      secureCookie: true,
    });
    const app = express().use('/x', secure);
    const s = app.listen(0, '127.0.0.1');
    await new Promise((done) => s.once('listening', done));
    try {
      const reply = await call(portOf(s), 'GET', `/x/login?token=${TOKEN}`);
      expect(reply.status).toBe(303);
      expect(reply.headers['set-cookie']![0]).toMatch(/; Path=\/x; .*; Secure$/);
    } finally {
      secure.close();
      await new Promise((done) => s.close(done));
    }
  });
});

describe('access control', () => {
  test.each([
    'me',
    'overview',
    'search',
    'fields',
    'tail',
    'export',
    `events/${'0'.repeat(8)}-0000-7000-8000-000000000000`,
  ])('GET api/%s without a session is 401 JSON', async (view) => {
    const reply = await get(`/api/${view}`);
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.json).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
  });

  test('a forged or foreign session cookie is 401', async () => {
    const reply = await get('/api/me', { cookie: `authtrail_console=${'A'.repeat(43)}` });
    expect(reply.status).toBe(401);
  });

  test('roles: none of the console is 403 everywhere; viewer reads but cannot export (403); auditor exports', async () => {
    expect((await get(`/api/search?${RANGE}`, as('nobody-special'))).status).toBe(403);
    const viewer = await get(`/api/search?${RANGE}`, as('vera-viewer'));
    expect(viewer.status).toBe(200);
    const refused = await get(`/api/export?${RANGE}`, as('vera-viewer'));
    expect(refused.status).toBe(403);
    expect(refused.json.error).toEqual({
      code: 'forbidden',
      message: expect.stringContaining('auditor'),
    });
    const exported = await get(`/api/export?${RANGE}`, as('audrey-auditor'));
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const lines = exported.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(lines.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    // The admin (the one-time token's session) may do all.
    expect((await get(`/api/export?${RANGE}`, { cookie: adminCookie })).status).toBe(200);
  });

  test('CSRF: a change needs the token from api/me and a same-origin request, else 403', async () => {
    const own = await freshConsole();
    try {
      const me = await call(own.port, 'GET', '/audit/api/me', { cookie: own.cookie });
      const csrf = me.json.csrfToken as string;
      const post = (headers: Record<string, string>) =>
        call(own.port, 'POST', '/audit/api/logout', { cookie: own.cookie, ...headers });
      const attempts: Record<string, string>[] = [
        { 'sec-fetch-site': 'same-origin' }, // no token
        { 'x-csrf-token': 'wrong'.repeat(9), 'sec-fetch-site': 'same-origin' },
        { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
        { 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' },
        { 'x-csrf-token': csrf, origin: 'http://evil.example' },
        { 'x-csrf-token': csrf }, // neither Sec-Fetch-Site nor Origin
      ];
      for (const headers of attempts) {
        const reply = await post(headers);
        expect([reply.status, reply.json.error.code]).toEqual([403, 'csrf']);
      }
      expect((await call(own.port, 'GET', '/audit/api/me', { cookie: own.cookie })).status).toBe(
        200,
      );
      const ok = await post({ 'x-csrf-token': csrf, origin: `http://127.0.0.1:${own.port}` });
      expect(ok.status).toBe(200);
      expect(ok.headers['set-cookie']![0]).toContain('Max-Age=0');
      expect((await call(own.port, 'GET', '/audit/api/me', { cookie: own.cookie })).status).toBe(
        401,
      );
    } finally {
      await own.close();
    }
  });

  test('a GET cannot change anything: logout by GET is 405', async () => {
    const reply = await get('/api/logout', { cookie: adminCookie });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('POST');
  });
});

/** A console of its own, on its own port, and a session of its one-time token. */
async function freshConsole() {
  const token = randomBytes(32).toString('base64url');
  const own = consoleHandler({ store, auditor: access.auditor, adminToken: token });
  const s = express().use('/audit', own).listen(0, '127.0.0.1');
  await new Promise((done) => s.once('listening', done));
  const login = await call(portOf(s), 'GET', `/audit/login?token=${token}`);
  return {
    port: portOf(s),
    cookie: sessionCookie(login),
    close: async () => {
      own.close();
      await new Promise((done) => s.close(done));
    },
  };
}

describe('security headers', () => {
  test('every answer carries the CSP and the other headers; JSON as application/json; API answers are not cached', async () => {
    const replies: [string, Reply][] = [
      ['landing', await get('/')],
      ['login refused', await get('/login?token=nope')],
      ['401', await get('/api/search')],
      ['403', await get('/api/search', as('nobody-special'))],
      ['404', await get('/api/nothing', as('vera-viewer'))],
      ['400', await get('/api/search?q=usr:alice', as('vera-viewer'))],
      ['200', await get(`/api/search?${RANGE}`, as('vera-viewer'))],
      ['405', await call(port, 'DELETE', '/audit/api/search', as('vera-viewer'))],
    ];
    for (const [name, reply] of replies) {
      for (const [h, value] of Object.entries(SECURITY_HEADERS))
        expect([name, h, reply.headers[h]]).toEqual([name, h, value]);
      if (name !== 'landing') {
        expect([name, reply.headers['content-type']]).toEqual([
          name,
          'application/json; charset=utf-8',
        ]);
        expect([name, reply.headers['cache-control']]).toEqual([name, 'no-store']);
        expect(reply.json.error === undefined || typeof reply.json.error.code === 'string').toBe(
          true,
        );
        expect(reply.text).not.toMatch(/\n\s+at /); // no stack
      }
    }
  });
});

const byTimeDesc = (a: AuditEvent, b: AuditEvent) =>
  b.time.localeCompare(a.time) || (b.id < a.id ? -1 : 1);

describe('the API', () => {
  test('search pages with next until the last page, each event once, newest first', async () => {
    const seen: AuditEvent[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const after: string = next ? `&after=${encodeURIComponent(next)}` : '';
      const reply = await get(
        `/api/search?q=outcome:failure&${RANGE}&limit=3${after}`,
        as('vera-viewer'),
      );
      expect(reply.status).toBe(200);
      seen.push(...(reply.json.events as AuditEvent[]));
      next = reply.json.next;
      pages++;
    } while (next !== null && pages < 10);
    const expected = events.filter((e) => e.outcome === 'failure').sort(byTimeDesc);
    expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect(pages).toBe(Math.ceil(expected.length / 3));
  });

  test('a malformed query is 400 with where and what was expected', async () => {
    const q = encodeURIComponent('type:authn.login.* AND (user:alice');
    const reply = await get(`/api/search?q=${q}`, as('vera-viewer'));
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: {
        code: 'invalid_query',
        message: "invalid query at 35: expected ')' to close the '(' at 24, found end of query",
        position: 35,
      },
    });
    const bad = await get('/api/search?limit=100000', as('vera-viewer'));
    expect([bad.status, bad.json.error.code]).toEqual([400, 'invalid_parameter']);
    const cursor = await get('/api/search?after=forged', as('vera-viewer'));
    expect([cursor.status, cursor.json.error.code]).toEqual([400, 'invalid_query']);
  });

  test("the overview's counts are the store's own count and top", async () => {
    const reply = await get(`/api/overview?${RANGE}`, as('vera-viewer'));
    expect(reply.status).toBe(200);
    const range = { from: '2026-03-02T00:00:00Z', to: '2026-03-03T00:00:00Z' };
    const failures = compileQuery('outcome:failure');
    expect(reply.json.interval).toBe('15m');
    expect(reply.json.timeline).toEqual(
      await store.count({ ...range, interval: '15m', by: 'outcome' }),
    );
    expect(reply.json.total).toBe(events.length);
    for (const [name, field] of [
      ['reasons', 'reason'],
      ['users', 'user'],
      ['ips', 'ip'],
      ['clients', 'client'],
    ] as const)
      expect([name, reply.json.failures[name]]).toEqual([
        name,
        await store.top({ ...range, where: failures, field, limit: 10 }),
      ]);
    expect(reply.json.failures.users[0]).toEqual({ key: 'bob', count: 5 });
    expect(reply.json.detections.map((e: AuditEvent) => e.type)).toEqual([
      'authn.bruteforce.detected',
    ]);
    // A week: hourly buckets, read from the store's rollup.
    const week = await get(
      '/api/overview?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z',
      as('vera-viewer'),
    );
    expect(week.json.interval).toBe('1h');
  });

  test('event detail: the event and its ECS and OCSF renderings', async () => {
    const event = events.find((e) => e.type === 'oauth.token_issue.success')!;
    const before = (await accessEvents()).length;
    const reply = await get(`/api/events/${event.id}`, as('vera-viewer'));
    // The access event names the event looked at (an id is no credential).
    expect((await accessEvents())[before]!.access).toEqual({
      view: 'events',
      target: event.id,
      results: 1,
    });
    expect(reply.status).toBe(200);
    expect(reply.json.event).toEqual(event);
    expect(reply.json.ecs).toEqual(toEcs(event));
    expect(reply.json.ocsf).toEqual(toOcsf(event));
    expect(reply.json.ecs.event.action).toBe('oauth.token_issue.success');
    expect(reply.json.ocsf.class_uid).toBe(3002);
    const missing = await get(
      '/api/events/01958f3e-0000-7000-8000-000000000000',
      as('vera-viewer'),
    );
    expect([missing.status, missing.json.error.code]).toEqual([404, 'not_found']);
    const notId = await get('/api/events/not-a-uuid', as('vera-viewer'));
    expect(notId.status).toBe(400);
  });

  test('trail: the flow, the token life and the session around an id', async () => {
    const failed = events.find((e) => e.reason === 'access_denied')!;
    const reply = await get(`/api/trail/${failed.id}?${RANGE}`, as('vera-viewer'));
    expect(reply.status).toBe(200);
    expect(reply.json.event.id).toBe(failed.id);
    expect(reply.json.flow.map((e: AuditEvent) => e.type)).toEqual([
      'authn.login_start.success',
      'authn.login.failure',
      'authn.login.failure',
    ]);
    const token = await get(`/api/trail/tok-fp-1?${RANGE}`, as('vera-viewer'));
    expect(token.json.token.map((e: AuditEvent) => e.type)).toEqual([
      'oauth.token_issue.success',
      'api.access.success',
      'api.access.success',
      'api.access.success',
    ]);
    expect((await get('/api/trail/nothing-has-this', as('vera-viewer'))).status).toBe(404);
  });

  test('fields: the query language for completion', async () => {
    const reply = await get('/api/fields', as('vera-viewer'));
    expect(reply.json.fields).toEqual(
      expect.arrayContaining(['type', 'outcome', 'user', 'ip', 'token']),
    );
    expect(reply.json.operators).toEqual(['AND', 'OR', 'NOT', '-', '(', ')']);
    expect(reply.json.values.type).toContain('audit.access.success');
  });

  test('hostile values (a <script> user agent, bidi characters) come back as JSON strings only', async () => {
    const reply = await get(`/api/events/01958f3e-8a1c-7b1e-9c4d-2f6a0b3c4d5e`, as('vera-viewer'));
    expect(reply.status).toBe(200);
    // Not one angle bracket or raw bidi control in the bytes: escaped, and parsed back unchanged.
    expect(reply.text).not.toMatch(/[<>\u202e\u2066]/);
    expect(reply.text).not.toContain('\x1b');
    expect(reply.json.event.source.user_agent).toBe(HOSTILE_UA);
    expect(reply.json.event.user.id).toBe(HOSTILE_USER);
    expect(reply.json.ecs.user_agent.original).toBe(HOSTILE_UA);
  });
});

/** A live tail's messages as they come, until `until` says stop. */
function tail(
  path: string,
  headers: Record<string, string>,
  until: (messages: { event: string; data: unknown }[]) => boolean,
) {
  return new Promise<{
    messages: { event: string; data: unknown }[];
    raw: string;
    headers: Record<string, unknown>;
  }>((resolve, reject) => {
    const messages: { event: string; data: unknown }[] = [];
    let raw = '';
    const req = httpRequest(
      { host: '127.0.0.1', port, path: `/audit${path}`, headers },
      (res: IncomingMessage) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          let end: number;
          while ((end = raw.indexOf('\n\n')) !== -1) {
            const block = raw.slice(0, end);
            raw = raw.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            messages.push({
              event: event ?? 'comment',
              data: data === undefined ? block : JSON.parse(data),
            });
          }
          if (until(messages)) {
            req.destroy();
            resolve({ messages, raw, headers: res.headers });
          }
        });
      },
    );
    req.on('error', (e: Error) => (e.message.includes('aborted') ? undefined : reject(e)));
    req.end();
  });
}

describe('live tail', () => {
  test('receives an event recorded during the test, and reports `more` past its rate', async () => {
    const writer = storeAuditor(store, 'tail-writer');
    const marker = `tail-${randomBytes(4).toString('hex')}`;
    let recorded = false;
    const result = await tail(
      `/api/tail?q=${encodeURIComponent(`client:${marker}`)}`,
      as('vera-viewer'),
      (messages) => {
        if (!recorded && messages.length > 0) {
          recorded = true;
          // One first, then a burst of twelve: five a second are sent, the rest counted.
          writer.record({
            type: 'api.access.success',
            client: { id: marker },
            user: { id: 'first' },
          });
          void writer.flush().then(() => {
            for (let i = 0; i < 12; i++)
              writer.record({
                type: 'api.access.success',
                client: { id: marker },
                user: { id: `burst-${i}` },
              });
          });
        }
        return messages.some((m) => m.event === 'more');
      },
    );
    await writer.close();
    const sent = result.messages
      .filter((m) => m.event === 'event')
      .map((m) => m.data as AuditEvent);
    expect(sent[0]!.user!.id).toBe('first');
    expect(sent.every((e) => e.client!.id === marker)).toBe(true);
    const more = result.messages.find((m) => m.event === 'more')!.data as { more: number };
    expect(more.more).toBeGreaterThan(0);
    expect(sent.length + more.more).toBeLessThanOrEqual(13);
  }, 20_000);

  test('a malformed tail query is 400 before any stream opens', async () => {
    const reply = await get('/api/tail?q=usr:alice', as('vera-viewer'));
    expect([reply.status, reply.json.error.code]).toEqual([400, 'invalid_query']);
  });
});

describe('access events (PCI DSS 10.2.1.3)', () => {
  test('each call is recorded with who, what view, query, range and how many results', async () => {
    const before = (await accessEvents()).length;
    await get(
      `/api/search?q=${encodeURIComponent('user:bob outcome:failure')}&${RANGE}&limit=2`,
      as('vera-viewer'),
    );
    await get('/api/search?q=usr:bob', as('vera-viewer'));
    await get('/api/overview', as('nobody-special'));
    const recorded = (await accessEvents()).slice(before);
    expect(recorded).toHaveLength(3);
    const [ok, bad, denied] = recorded;
    expect(ok).toMatchObject({
      type: 'audit.access.success',
      user: { id: 'vera-viewer', roles: ['viewer'] },
      access: {
        view: 'search',
        query: 'user:bob outcome:failure',
        from: '2026-03-02T00:00:00.000Z',
        to: '2026-03-03T00:00:00.000Z',
        results: 2,
      },
      http: { method: 'GET', path: '/audit/api/search', status: 200 },
      source: { ip: '127.0.0.1' },
    });
    expect(bad).toMatchObject({
      type: 'audit.access.failure',
      reason: 'invalid_request',
      access: { view: 'search', query: 'usr:bob' },
      http: { status: 400 },
    });
    expect(denied).toMatchObject({
      type: 'audit.access.failure',
      reason: 'forbidden',
      user: { id: 'nobody-special' },
      access: { view: 'overview' },
    });
  });

  test('no raw token, password-like value, admin token or session id reaches an access event', async () => {
    const jwt =
      'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc2NTAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const opaque = 'Zk9vQmFyOTk5eHl6UVFRcXFxMTIzNDU2Nzg5';
    const queries = [
      `token:${jwt}`,
      `user:alice token:"${opaque}"`,
      jwt, // pasted alone: a malformed query, recorded all the same
      `(flow:${opaque} OR user:bob)`,
      'Summer2024!', // a password pasted into the search box: a bare word
      'client:"web app" OR NOT user:alice',
    ];
    for (const q of queries) await get(`/api/search?q=${encodeURIComponent(q)}`, as('vera-viewer'));
    await get(`/api/tail?q=${encodeURIComponent(`token:${jwt}`)}&x=1`, as('nobody-special'));
    await get(`/login?token=${TOKEN}`); // spent: refused
    const all = JSON.stringify(await accessEvents());
    for (const secret of [
      jwt,
      jwt.split('.')[0]!,
      opaque,
      'Summer2024',
      TOKEN,
      adminCookie.split('=')[1]!,
    ])
      expect(all).not.toContain(secret);
    const searches = (await accessEvents()).filter((e) => e.access?.view === 'search').slice(-6);
    expect(searches.map((e) => e.access!.query)).toEqual([
      'token:[redacted]',
      'user:alice token:[redacted]',
      '[redacted]',
      '(flow:[redacted] OR user:bob)',
      '[redacted]',
      'client:"web app" OR NOT user:alice',
    ]);
    expect(searches[2]!.type).toBe('audit.access.failure');
  });

  test('a refused sign-in is recorded (reason token_invalid), without the token it carried', async () => {
    const before = (await accessEvents()).length;
    await get('/login?token=guess-guess-guess-guess-guess-guess-guess');
    const [event] = (await accessEvents()).slice(before);
    expect(event).toMatchObject({
      type: 'audit.access.failure',
      reason: 'token_invalid',
      access: { view: 'login' },
      http: { path: '/audit/login', status: 401 },
    });
    expect(JSON.stringify(event)).not.toContain('guess');
  });
});

describe('bounds', () => {
  test('a session ends after its idle time; the cookie then gets 401', async () => {
    const token = randomBytes(32).toString('base64url');
    const own = consoleHandler({
      store,
      auditor: access.auditor,
      adminToken: token,
      idleTimeoutS: 1,
    });
    const s = express().use('/audit', own).listen(0, '127.0.0.1');
    await new Promise((done) => s.once('listening', done));
    try {
      const cookie = sessionCookie(await call(portOf(s), 'GET', `/audit/login?token=${token}`));
      expect((await call(portOf(s), 'GET', '/audit/api/me', { cookie })).status).toBe(200);
      await new Promise((done) => setTimeout(done, 1100));
      expect((await call(portOf(s), 'GET', '/audit/api/me', { cookie })).status).toBe(401);
    } finally {
      own.close();
      await new Promise((done) => s.close(done));
    }
  });

  test('live tails: event-stream headers and heartbeats; past maxTails 429; a closed one frees its place', async () => {
    const own = consoleHandler({
      store,
      auditor: access.auditor,
      auth: () => ({ user: 'vera-viewer', roles: ['viewer'] }),
      maxTails: 1,
      heartbeatS: 1,
      tailPollMs: 200,
    });
    const s = express().use('/audit', own).listen(0, '127.0.0.1');
    await new Promise((done) => s.once('listening', done));
    const ownPort = portOf(s);
    const open = () =>
      new Promise<{ res: IncomingMessage; close: () => void; text: () => string }>((resolve) => {
        let text = '';
        const req = httpGet(
          { host: '127.0.0.1', port: ownPort, path: '/audit/api/tail?q=outcome:failure' },
          (res: IncomingMessage) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            resolve({ res, close: () => req.destroy(), text: () => text });
          },
        );
        req.on('error', () => undefined);
      });
    try {
      const first = await open();
      expect(first.res.statusCode).toBe(200);
      expect(first.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(first.res.headers['cache-control']).toBe('no-store');
      expect(first.res.headers['content-security-policy']).toBe(
        SECURITY_HEADERS['content-security-policy'],
      );
      const refused = await call(ownPort, 'GET', '/audit/api/tail');
      expect([refused.status, refused.json.error.code]).toEqual([429, 'too_many_tails']);
      await new Promise((done) => setTimeout(done, 1300));
      expect(first.text()).toContain(': heartbeat\n\n');
      const before = (await accessEvents()).length;
      first.close();
      // The server sees the disconnect, ends the tail and records it.
      for (let i = 0; i < 50 && (await accessEvents()).length === before; i++)
        await new Promise((done) => setTimeout(done, 20));
      const [ended] = (await accessEvents()).slice(before);
      expect(ended).toMatchObject({
        type: 'audit.access.success',
        access: { view: 'tail', query: 'outcome:failure', results: 0 },
      });
      const second = await open();
      expect(second.res.statusCode).toBe(200);
      second.close();
    } finally {
      own.close();
      await new Promise((done) => s.close(done));
    }
  });
});
