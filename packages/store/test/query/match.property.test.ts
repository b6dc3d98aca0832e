// matchQuery (in memory) and compileQuery (SQL on the machine's PostgreSQL) must answer every query
// alike: the same events, over the same rows. Events are stored as the engines store them (eventRow,
// eventJson) in a temporary table that is rolled back; random queries are run both ways.
import { userInfo } from 'node:os';
import fc from 'fast-check';
import { Client } from 'pg';
import type { AuditEvent } from '@authtrail/schema';
import { EVENT_COLUMNS, eventJson, eventRow } from '../../src/schema.js';
import { compileQuery, matchQuery } from '../../src/query/index.js';

const run = process.env.AUTHTRAIL_PG_TESTS === '0' ? describe.skip : describe;

const opt = <T>(...values: T[]) => fc.constantFrom<T | undefined>(undefined, ...values);

// Small pools, so that random queries hit; edge cases in each: LIKE's own characters, case, a NUL
// and a lone surrogate (stored as U+FFFD), IPv4-mapped IPv6, leading zeros, an address inet refuses.
const TYPES = [
  'authn.login.failure',
  'authn.login.success',
  'authn.logout.success',
  'oauth.token_issue.success',
  'api.access.failure',
  'app.a_b.c%d.detected',
];
const USERS = ['alice', 'Alice', 'bob', 'b*b', 'a\ud800', 'a\u0000b', 'ü'];
const CLIENTS = ['web app', 'web', 'webx', 'mobile-1', 'w_b', 'w%b'];
const IPS = [
  '203.0.113.5',
  '203.0.113.200',
  '198.51.100.7',
  '10.0.0.1',
  '010.0.0.2',
  '2001:db8::1',
  '2001:db8:1::5',
  '::ffff:203.0.113.5',
  '::1',
  'fe80::1:2:3:4',
  'not-an-ip',
];
const ROUTES = ['/login', '/callback', '/api/orders', '/api/orders/:id', '/api/_x'];
const STATUSES = [200, 302, 401, 404, 429, 500, 503];
const WORDS = ['x1', 'x2', 'X1'];

const eventArb = fc.record({
  type: fc.constantFrom(...TYPES),
  reason: opt('idp_error', 'invalid_credentials', 'x_y'),
  userId: opt(...USERS),
  userHash: opt(...USERS),
  client: opt(...CLIENTS),
  ip: opt(...IPS),
  route: opt(...ROUTES),
  status: opt(...STATUSES),
  flow: opt(...WORDS),
  token: opt(...WORDS),
  service: opt(...WORDS),
  instance: opt(...WORDS),
  trace: opt(...WORDS),
  upperId: fc.boolean(),
});

type EventFields = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function eventOf(r: EventFields, n: number): AuditEvent {
  const hex = n.toString(16).padStart(12, '0');
  const id = `0190a0b0-c0d0-7000-8000-${hex}`;
  return {
    schema: 1,
    id: r.upperId ? id.toUpperCase() : id,
    time: new Date(Date.UTC(2026, 11, 7, 10) + n * 1000).toISOString(),
    type: r.type,
    outcome: r.type.slice(r.type.lastIndexOf('.') + 1) as AuditEvent['outcome'],
    observer: {
      role: 'rs',
      service: r.service as string,
      instance: r.instance as string,
      adapter: 'test',
    },
    ...(r.reason !== undefined && { reason: r.reason }),
    ...((r.userId !== undefined || r.userHash !== undefined) && {
      user: {
        ...(r.userId !== undefined && { id: r.userId }),
        ...(r.userHash !== undefined && { hash: r.userHash }),
      },
    }),
    ...(r.client !== undefined && { client: { id: r.client } }),
    ...(r.ip !== undefined && { source: { ip: r.ip } }),
    ...((r.route !== undefined || r.status !== undefined) && {
      http: {
        method: 'GET',
        path: '/p',
        ...(r.route !== undefined && { route: r.route }),
        ...(r.status !== undefined && { status: r.status }),
      } as AuditEvent['http'],
    }),
    ...(r.flow !== undefined && { flow: { id: r.flow } }),
    ...(r.token !== undefined && {
      oauth: { token: { type: 'access_token', fingerprint: r.token } },
    }),
    ...(r.trace !== undefined && { trace: { id: r.trace, span_id: 's' } }),
  } as AuditEvent;
}
const EVENTS: AuditEvent[] = fc
  .sample(eventArb, { numRuns: 400, seed: 16 })
  .map((r, n) => eventOf(r, n));

/** A value as a query writes it: quoted, with `"`, `\` and `*` escaped (a literal). */
const literal = (v: string) => `"${v.replace(/["\\*]/g, '\\$&')}"`;
const noNul = (v: string) => !v.includes('\u0000');

/** A wildcard value over `pool`: a literal prefix, suffix or middle with `*` around it. */
const wildcard = (pool: string[]) =>
  fc
    .tuple(fc.constantFrom(...pool), fc.nat(), fc.nat(), fc.constantFrom('pre', 'suf', 'mid'))
    .map(([v, a, b, where]) => {
      const i = a % (v.length + 1);
      const j = i + (b % (v.length - i + 1));
      const part = literal(v.slice(i, j)).slice(1, -1);
      return `"${where === 'pre' ? `${part}*` : where === 'suf' ? `*${part}` : `*${part}*`}"`;
    });

const term: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...TYPES).map((v) => `type:${literal(v)}`),
  wildcard(TYPES).map((v) => `type:${v}`),
  fc.constantFrom('success', 'failure', 'detected').map((v) => `outcome:${v}`),
  fc
    .constantFrom('idp_error', 'x_y', 'x%y', '*')
    .map((v) => `reason:${v === '*' ? v : literal(v)}`),
  fc
    .constantFrom(...USERS.filter(noNul), 'a\ufffd', 'a\ufffdb', '*')
    .map((v) => `user:${v === '*' ? v : literal(v)}`),
  fc.constantFrom(...CLIENTS, 'WEB').map((v) => `client:${literal(v)}`),
  wildcard(CLIENTS).map((v) => `client:${v}`),
  fc
    .constantFrom(
      ...IPS.filter((ip) => !ip.startsWith('0') && ip !== 'not-an-ip'),
      '203.0.113.0/24',
      '203.0.113.9/24',
      '203.0.113.128/25',
      '198.51.100.0/31',
      '10.0.0.0/8',
      '0.0.0.0/0',
      '2001:db8::/32',
      '2001:db8::/48',
      '::/0',
      '::ffff:0:0/96',
      '::ffff:203.0.113.0/120',
      'fe80::/10',
      '*',
    )
    .map((v) => `ip:${v}`),
  fc.constantFrom(...ROUTES).map((v) => `route:${literal(v)}`),
  wildcard(ROUTES).map((v) => `route:${v}`),
  fc
    .constantFrom('200', '401', '>=500', '<400', '>302', '<=302', '400..499', '200..302', '*')
    .map((v) => `status:${v}`),
  fc
    .tuple(
      fc.constantFrom('flow', 'token', 'service', 'instance', 'trace'),
      fc.constantFrom(...WORDS, '*'),
    )
    .map(([f, v]) => `${f}:${v}`),
  fc.tuple(fc.nat(EVENTS.length + 2), fc.boolean()).map(([n, upper]) => {
    const id = `0190a0b0-c0d0-7000-8000-${n.toString(16).padStart(12, '0')}`;
    return `id:${upper ? id.toUpperCase() : id}`;
  }),
);

const query: fc.Arbitrary<string> = fc.letrec<{ q: string }>((tie) => ({
  q: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    term,
    fc.tuple(fc.constantFrom('-', 'NOT '), tie('q')).map(([neg, q]) => `${neg}(${q})`),
    fc
      .tuple(tie('q'), fc.constantFrom(' ', ' AND ', ' OR '), tie('q'))
      .map(([a, op, b]) => `(${a}${op}${b})`),
  ),
})).q;

run('matchQuery agrees with compileQuery on PostgreSQL', () => {
  const client = new Client({
    host: '127.0.0.1',
    port: 5432,
    database: 'test',
    user: process.env.PGUSER ?? userInfo().username,
  });

  beforeAll(async () => {
    await client.connect();
    await client.query('BEGIN');
    const columns = EVENT_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
    await client.query(`CREATE TEMP TABLE events (${columns}) ON COMMIT DROP`);
    const names = EVENT_COLUMNS.map(([name]) => name).join(', ');
    const marks = EVENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
    for (const event of EVENTS) {
      const row: unknown[] = [...eventRow(event), eventJson(event)];
      // The address column takes what inet reads, as the engines' inetOrNull leaves it.
      await client.query(`INSERT INTO events (${names}) VALUES (${marks})`, row);
    }
  });

  afterAll(async () => {
    await client.query('ROLLBACK');
    await client.end();
  });

  async function inSql(text: string): Promise<string[]> {
    const { where, params } = compileQuery(text);
    const result = await client.query<{ id: string }>(
      `SELECT id::text FROM events WHERE ${where} ORDER BY id`,
      [...params],
    );
    return result.rows.map((r) => r.id);
  }

  const inMemory = (text: string) =>
    EVENTS.filter(matchQuery(text))
      .map((e) => e.id.toLowerCase())
      .sort();

  test('every random query selects the same events in memory as in SQL', async () => {
    await fc.assert(
      fc.asyncProperty(query, async (text) => {
        expect(inMemory(text)).toEqual(await inSql(text));
      }),
      { numRuns: 600 },
    );
  });

  test.each([
    ['-reason:idp_error', 'negation keeps events without the field'],
    ['ip:203.0.113.0/24', 'IPv4 CIDR containment, the mapped IPv6 address excluded'],
    ['ip:2001:db8::/32', 'IPv6 CIDR containment'],
    ['ip:10.0.0.0/8', 'an address written with a leading zero, read as decimal'],
    ['user:"a\ufffd"', 'a lone surrogate stored as U+FFFD'],
    ['user:"a\ufffdb"', 'a NUL stored as U+FFFD'],
    ['client:w_b', 'an underscore is literal'],
    ['type:app.a_b.*', 'a wildcard with LIKE characters in its literal part'],
    ['status:400..499 -status:404', 'a status range minus one status'],
    ['user:alice', 'a user by id or hash, case-sensitive'],
  ])('%s: %s', async (text) => {
    const sql = await inSql(text);
    expect(sql.length).toBeGreaterThan(0);
    expect(inMemory(text)).toEqual(sql);
  });

  test('an empty query matches every event; an event without a valid time matches none', () => {
    expect(EVENTS.filter(matchQuery('')).length).toBe(EVENTS.length);
    expect(matchQuery('')({ ...EVENTS[0]!, time: 'not a time' })).toBe(false);
  });

  test('a malformed query throws ERR_AUTHTRAIL_INVALID_QUERY with its position', () => {
    expect(() => matchQuery('user:alice (')).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_QUERY', position: 13 }),
    );
  });
});
