import { userInfo } from 'node:os';
import fc from 'fast-check';
import { Client } from 'pg';
import {
  bucketExpr,
  compileQuery,
  QUERY_FIELDS,
  encodeCursor,
  groupField,
  pageClause,
  pageOrder,
} from '../../src/query/index.js';

// Runs the compiled SQL on the machine's PostgreSQL (127.0.0.1:5432, database `test`), against a
// temporary `events` table inside a transaction that is rolled back: nothing outside this session's
// own temporary schema is touched. AUTHTRAIL_PG_TESTS=0 skips it where there is no server.
const run = process.env.AUTHTRAIL_PG_TESTS === '0' ? describe.skip : describe;

const COLUMNS = `id uuid PRIMARY KEY, time timestamptz NOT NULL, type text NOT NULL, outcome text NOT NULL,
  reason text, user_id text, user_hash text, client_id text, source_ip inet, flow_id text, token_fp text,
  service text, instance text, route text, status int, trace_id text, event jsonb NOT NULL DEFAULT '{}'`;

const id = (n: number): string => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

// n, time, type, outcome, reason, user_id, user_hash, client_id, source_ip, route, status
const ROWS: [
  number,
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
  string,
  string,
  string,
  number,
][] = [
  [
    1,
    '2026-12-07T10:00:00.000Z',
    'authn.login.failure',
    'failure',
    'idp_error',
    'alice',
    null,
    'web app',
    '203.0.113.5',
    '/callback',
    302,
  ],
  [
    2,
    '2026-12-07T10:20:00.000Z',
    'authn.login.failure',
    'failure',
    'state_mismatch',
    'alice',
    null,
    'web app',
    '203.0.113.9',
    '/callback',
    400,
  ],
  [
    3,
    '2026-12-07T10:20:00.000Z',
    'authn.login.success',
    'success',
    null,
    null,
    'h:abc',
    'mobile',
    '198.51.100.1',
    '/callback',
    302,
  ],
  [
    4,
    '2026-12-07T11:05:00.000Z',
    'authn.token_refresh.success',
    'success',
    null,
    'bob',
    null,
    'mobile',
    '2001:db8::1',
    '/api/orders',
    200,
  ],
  [
    5,
    '2026-12-07T11:05:00.000Z',
    'authz.access.failure',
    'failure',
    'upstream',
    'bob',
    null,
    "x' OR 1=1 --",
    '198.51.100.2',
    '/api/orders',
    503,
  ],
  // `_` in a query's type is a literal: this row must not match type:authn.token_refresh.*
  [
    6,
    '2026-12-07T12:59:59.999Z',
    'authn.tokenXrefresh.success',
    'success',
    null,
    null,
    null,
    'cli',
    '192.0.2.1',
    '/token',
    200,
  ],
];

run('compiled queries on PostgreSQL', () => {
  // Trust authentication: the user is the one running the tests, as psql would pick it.
  const client = new Client({
    host: '127.0.0.1',
    port: 5432,
    database: 'test',
    user: process.env.PGUSER ?? userInfo().username,
  });

  beforeAll(async () => {
    await client.connect();
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE events (${COLUMNS}) ON COMMIT DROP`);
    for (const [
      n,
      time,
      type,
      outcome,
      reason,
      userId,
      userHash,
      clientId,
      ip,
      route,
      status,
    ] of ROWS) {
      await client.query(
        `INSERT INTO events (id, time, type, outcome, reason, user_id, user_hash, client_id, source_ip, route, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [id(n), time, type, outcome, reason, userId, userHash, clientId, ip, route, status],
      );
    }
  });

  afterAll(async () => {
    await client.query('ROLLBACK');
    await client.end();
  });

  async function matching(query: string): Promise<number[]> {
    // The time range goes first, as the store will put it: the query's placeholders follow.
    const q = compileQuery(query, { firstParam: 3 });
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM events WHERE time >= $1 AND time < $2 AND ${q.where} ORDER BY id`,
      ['2026-12-07T00:00:00Z', '2026-12-08T00:00:00Z', ...q.params],
    );
    return rows.map((r) => Number(r.id.slice(-12)));
  }

  test.each<[string, number[]]>([
    ['', [1, 2, 3, 4, 5, 6]],
    ['type:authn.login.* outcome:failure user:alice -reason:idp_error', [2]],
    ['user:h:abc', [3]],
    ['user:*', [1, 2, 3, 4, 5]],
    ['ip:203.0.113.0/24', [1, 2]],
    ['ip:198.51.100.2', [5]],
    ['ip:2001:db8::/32', [4]],
    ['-reason:idp_error', [2, 3, 4, 5, 6]],
    ['-reason:*', [3, 4, 6]],
    ['status:>=500 OR status:400..499', [2, 5]],
    ['status:<300', [4, 6]],
    ['type:authn.token_refresh.*', [4]],
    ['type:*.success', [3, 4, 6]],
    ['route:/api/*', [4, 5]],
    ['client:"x\' OR 1=1 --"', [5]],
    ['client:"web app" NOT status:302', [2]],
    ['reason:* -(user:alice)', [5]],
    ['(outcome:success OR reason:upstream) client:mobile', [3, 4]],
    [`id:${id(3)}`, [3]],
  ])('%j selects rows %j', async (query, expected) => {
    expect(await matching(query)).toEqual(expected);
  });

  test.each(['desc', 'asc'] as const)(
    'keyset pages (%s) read every matching row once, in order, across equal times',
    async (order) => {
      const filter = compileQuery('-type:authn.tokenXrefresh.success');
      const all = (
        await client.query<{ id: string }>(
          `SELECT id FROM events WHERE ${filter.where} ORDER BY ${pageOrder(order)}`,
          [...filter.params],
        )
      ).rows.map((r) => r.id);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = pageClause(cursor, { firstParam: filter.params.length + 1, order });
        const { rows } = await client.query<{ id: string; time: Date }>(
          `SELECT id, time FROM events WHERE ${filter.where} AND ${page.where} ORDER BY ${pageOrder(order)} LIMIT 2`,
          [...filter.params, ...page.params],
        );
        seen.push(...rows.map((r) => r.id));
        if (rows.length < 2) break;
        cursor = encodeCursor(rows[rows.length - 1] as { id: string; time: Date });
      }
      expect(seen).toEqual(all);
      expect(seen).toHaveLength(ROWS.length - 1);
    },
  );

  test('bucketExpr bins by UTC hour and groupField counts a pseudonymised user by its hash', async () => {
    const hours = await client.query<{ bucket: Date; n: string }>(
      `SELECT ${bucketExpr('1h')} AS bucket, count(*) AS n FROM events GROUP BY 1 ORDER BY 1`,
    );
    expect(hours.rows.map((r) => [r.bucket.toISOString(), Number(r.n)])).toEqual([
      ['2026-12-07T10:00:00.000Z', 3],
      ['2026-12-07T11:00:00.000Z', 2],
      ['2026-12-07T12:00:00.000Z', 1],
    ]);
    const users = await client.query<{ key: string | null; n: string }>(
      `SELECT ${groupField('user')} AS key, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC, key NULLS LAST`,
    );
    expect(users.rows.map((r) => [r.key, Number(r.n)])).toEqual([
      ['alice', 2],
      ['bob', 2],
      ['h:abc', 1],
      [null, 1],
    ]);
    for (const interval of ['1m', '5m', '15m', '1d'] as const) {
      const { rows } = await client.query(
        `SELECT DISTINCT ${bucketExpr(interval)} AS b FROM events`,
      );
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  test('every query that compiles runs: values the compiler accepts, PostgreSQL accepts too', async () => {
    const value = fc.oneof(
      fc.constantFrom(
        '*',
        'a*',
        '"web app"',
        '10.0.0.0/8',
        '::ffff:192.0.2.1',
        '2001:db8::/129',
        '1.2.3.4/0',
        '::',
        '>=500',
      ),
      fc.constantFrom(
        '400..499',
        '0',
        '999',
        id(1),
        id(1).toUpperCase(),
        "x'",
        '\\*',
        '"%_\\\\"',
        'failure',
        '1::2',
        '"a\u0000b"',
      ),
      fc.string({ unit: 'binary', maxLength: 12 }).map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`),
    );
    const term = fc
      .tuple(fc.constantFrom('', '-'), fc.constantFrom(...QUERY_FIELDS), value)
      .map(([n, f, v]) => `${n}${f}:${v}`);
    const query = fc
      .array(fc.tuple(term, fc.constantFrom(' ', ' OR ', ' AND ')), { minLength: 1, maxLength: 5 })
      .map((parts) =>
        parts
          .map(([t, sep]) => t + sep)
          .join('')
          .replace(/ (OR|AND) $/, ''),
      );
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(query, async (text) => {
        let q;
        try {
          q = compileQuery(text);
        } catch {
          return;
        }
        ran++;
        await client.query('SAVEPOINT p');
        try {
          await client.query(`SELECT count(*) FROM events WHERE ${q.where}`, [...q.params]);
        } finally {
          await client.query('ROLLBACK TO SAVEPOINT p');
        }
      }),
      { numRuns: 300 },
    );
    expect(ran).toBeGreaterThan(50);
  });
});
