// The store conformance suite (issue 16): every engine stores one dataset made by real auditors and
// answers the same questions (pages, counts, top values, trails, retention, migrations, errors).
// Each answer is checked twice: deep-equal across the engines, in this one run, and equal to the
// answer computed in JavaScript from the events (test/support/store-oracle.ts), so two engines
// that agree on a wrong answer fail too. An engine joins by one line in ENGINES.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import {
  GROUP_FIELDS,
  SCHEMA_VERSION,
  compileQuery,
  migrations,
  type BucketInterval,
  type DroppedPartition,
  type QueryField,
  type Store,
  type TimeRange,
  type Trail,
} from '@authtrail/store';
import { embeddedStore } from '@authtrail/store-embedded';
import { postgresStore } from '@authtrail/store-postgres';
import pg from 'pg';
import { FIRST_DAY, HOSTILE, buildDataset, type Dataset } from './support/store-dataset';
import {
  column,
  expectedCount,
  expectedTop,
  inCidr,
  inOrder,
  stored,
  wildcard,
} from './support/store-oracle';

/** An engine under test: `open()` gives a store on its own target, the same data on every open. */
interface Engine {
  readonly name: string;
  open(): Store;
  /** Makes the target, when the engine needs more than its first store call does. */
  prepare?(): Promise<void>;
  /** Removes the target (database, directory). */
  destroy(): Promise<void>;
}

const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * PostgreSQL in a database of its own, set up unlike PGlite's (C collation, UTC) as servers often
 * are: text sorted as people read it (ICU en-US, from the OS locale), and a session time zone off
 * UTC by a half hour (Asia/Kolkata, +05:30). Neither may change an answer: buckets and days are UTC,
 * keys sort by byte.
 */
function postgresEngine(): Engine {
  const database = `t_conformance_${randomBytes(5).toString('hex')}`;
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  return {
    name: 'postgres',
    async prepare() {
      await admin(
        `CREATE DATABASE ${database} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
      );
      await admin(`ALTER DATABASE ${database} SET timezone TO 'Asia/Kolkata'`);
    },
    open: () => postgresStore({ connectionString: url.href }),
    destroy: () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
  };
}

/** The embedded engine in a directory of its own. */
function embeddedEngine(): Engine {
  const directory = mkdtempSync(join(tmpdir(), 'authtrail-conformance-'));
  return {
    name: 'embedded',
    open: () => embeddedStore({ directory }),
    async destroy() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const ENGINES: Engine[] = [postgresEngine(), embeddedEngine()];

const DAY = 86_400_000;
let data: Dataset;
let all: AuditEvent[];
const stores = new Map<string, Store>();
const inserts = new Map<string, unknown[]>();

/** A value in the query language, quoted, with `"`, `\` and `*` escaped (never a wildcard). */
const q = (value: string) => `"${value.replace(/[\\"*]/g, '\\$&')}"`;

/** `expect(actual).toEqual(expected)`, with a fast path for the large answers that are equal. */
function equal(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
}

/** What an engine answered: its value, or its error (code, message without the engine's name, fields). */
type Answer =
  | { value: unknown }
  | { error: { code: unknown; position: unknown; dropped: unknown; message: string } };

async function answer(run: () => Promise<unknown>): Promise<Answer> {
  try {
    return { value: await run() };
  } catch (e) {
    const error = e as { code?: unknown; position?: unknown; dropped?: unknown; message?: unknown };
    return {
      error: {
        code: error.code,
        position: error.position,
        dropped: error.dropped,
        // The factory and the place of the data a message names are the engine's own; the rest
        // must be the same.
        message: String(error.message)
          .replace(/\b(postgres|embedded)Store\b/g, '<engine>')
          .replace(/\b(PostgreSQL|the embedded store) at \S+/g, '<target>'),
      },
    };
  }
}

/**
 * Asks every engine the same question, expects the same answer from each (compared with the first
 * engine's), and returns it: the value, or the error it rejected with.
 */
async function ask<T>(question: (store: Store) => Promise<T>): Promise<Answer & { value?: T }> {
  const answers: [string, Answer][] = [];
  for (const engine of ENGINES) {
    answers.push([engine.name, await answer(() => question(stores.get(engine.name)!))]);
  }
  const [first, ...others] = answers;
  for (const [name, other] of others) {
    // Named, so a failure says which engine differs from which.
    equal({ engine: name, answer: other }, { engine: name, answer: first![1] });
  }
  return first![1] as Answer & { value?: T };
}

/** The value every engine answered (a rejection fails the test with its error). */
async function same<T>(question: (store: Store) => Promise<T>): Promise<T> {
  const got = await ask(question);
  if ('error' in got) throw new Error(`expected an answer, got ${JSON.stringify(got.error)}`);
  return got.value as T;
}

/** The error every engine rejected with. */
async function refused(question: (store: Store) => Promise<unknown>) {
  const got = await ask(question);
  if (!('error' in got)) throw new Error(`expected a rejection, got ${JSON.stringify(got.value)}`);
  return got.error;
}

const ids = (events: readonly AuditEvent[]) => events.map((e) => e.id);

beforeAll(async () => {
  data = await buildDataset();
  all = data.events;
  // Batches of 400 in delivery order, each over several days; the last one holds every service.
  const batches: AuditEvent[][] = [];
  for (let i = 0; i < all.length; i += 400) batches.push(all.slice(i, i + 400));
  for (const engine of ENGINES) {
    await engine.prepare?.();
    const store = engine.open();
    stores.set(engine.name, store);
    const results: unknown[] = [await store.migrate()];
    const [b0, b1, ...rest] = batches as [AuditEvent[], AuditEvent[], ...AuditEvent[][]];
    results.push(await store.insert(b0));
    // A retried batch, a batch half old and half new, and an event twice in one batch.
    results.push(await store.insert(b0));
    results.push(await store.insert([...b1.slice(0, 150), ...b0.slice(0, 50)]));
    results.push(await store.insert([b1[150]!, b1[150]!]));
    results.push(await store.insert(b1.slice(150)));
    for (const batch of rest) results.push(await store.insert(batch));
    inserts.set(engine.name, results);
  }
}, 60_000);

afterAll(async () => {
  // Every target goes, whatever a close says.
  await Promise.allSettled([...stores.values()].map((store) => store.close()));
  for (const engine of ENGINES) await engine.destroy();
});

describe('the dataset', () => {
  test('spans five UTC days, three services, two instances, plain and pseudonymised users, IPv4 and IPv6', () => {
    const days = new Set(all.map((e) => e.time.slice(0, 10)));
    expect([...days].sort()).toEqual([
      '2026-11-27',
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
    ]);
    expect(new Set(all.map((e) => e.observer.service))).toEqual(
      new Set(['bench', 'billing-api', 'admin-portal']),
    );
    expect(new Set(all.map((e) => e.observer.instance)).size).toBe(2);
    expect(all.some((e) => e.user?.hash !== undefined && e.user.id === undefined)).toBe(true);
    expect(all.some((e) => inCidr(column(e, 'ip') as string | null, '::/0'))).toBe(true);
    expect(all.some((e) => inCidr(column(e, 'ip') as string | null, '0.0.0.0/0'))).toBe(true);
    for (const id of HOSTILE.users) expect(all.some((e) => e.user?.id === id)).toBe(true);
    // Event ids are unique: every count below is of distinct events.
    expect(new Set(ids(all)).size).toBe(all.length);
  });
});

describe('migrate and insert', () => {
  test('a new store applies every migration; inserts count duplicates the same on every engine', async () => {
    const expected = inserts.get(ENGINES[0]!.name)!;
    for (const engine of ENGINES) expect(inserts.get(engine.name)).toEqual(expected);
    const [migrated, first, retried, mixed, twice, rest] = expected;
    expect(migrated).toEqual({
      version: SCHEMA_VERSION,
      applied: migrations.map((m) => m.version),
    });
    expect(first).toEqual({ inserted: 400, duplicates: 0 });
    expect(retried).toEqual({ inserted: 0, duplicates: 400 });
    expect(mixed).toEqual({ inserted: 150, duplicates: 50 });
    expect(twice).toEqual({ inserted: 1, duplicates: 1 });
    // The rest of the second batch, its event already stored once among them.
    expect(rest).toEqual({ inserted: 249, duplicates: 1 });
    // Every event is stored once.
    const page = await same((s) => s.query({ limit: 10_000, order: 'asc' }));
    equal(page.events, stored(inOrder(all, 'asc')));
    expect(page.next).toBeUndefined();
  });

  test('a store opened again on the same data migrates nothing and finds every event', async () => {
    for (const engine of ENGINES) {
      await stores.get(engine.name)!.close();
      stores.set(engine.name, engine.open());
    }
    expect(await same((s) => s.migrate())).toEqual({ version: SCHEMA_VERSION, applied: [] });
    expect(await same((s) => s.count({ interval: '1d' }))).toEqual(expectedCount(all, '1d'));
  });
});

/** A query of the language, and which events it matches, written out by hand. */
interface QueryCase {
  readonly name: string;
  readonly text: (d: Dataset) => string;
  readonly match: (e: AuditEvent, d: Dataset) => boolean;
}

const has = (e: AuditEvent, field: QueryField) => column(e, field) !== null;
const is = (field: QueryField, value: unknown) => (e: AuditEvent) => column(e, field) === value;
const userIs = (value: string) => (e: AuditEvent) => e.user?.id === value || e.user?.hash === value;
const ipIn = (range: string) => (e: AuditEvent) => inCidr(column(e, 'ip') as string | null, range);
const status = (e: AuditEvent) => column(e, 'status') as number | null;
/** A value of the dataset: the first event `pick` finds one in. */
const first = (d: Dataset, pick: (e: AuditEvent) => string | undefined) =>
  d.events.map(pick).find((v) => v !== undefined)!;
const benchUser = (d: Dataset) =>
  first(d, (e) => (e.observer.service === 'bench' ? e.user?.id : undefined));
const benchInstance = (d: Dataset) =>
  first(d, (e) => (e.observer.service === 'bench' ? e.observer.instance : undefined));

const QUERIES: QueryCase[] = [
  { name: 'no terms: every event', text: () => '', match: () => true },
  {
    name: 'type equality',
    text: () => 'type:authn.login.failure',
    match: is('type', 'authn.login.failure'),
  },
  {
    name: 'type wildcard at the end',
    text: () => 'type:authn.*',
    match: (e) => e.type.startsWith('authn.'),
  },
  {
    name: 'type wildcards at the start and middle, `_` literal',
    text: () => 'type:*.token_*.success',
    match: (e) => wildcard('*.token_*.success')(e.type),
  },
  { name: 'outcome detected', text: () => 'outcome:detected', match: is('outcome', 'detected') },
  {
    name: 'negated outcome',
    text: () => '-outcome:success',
    match: (e) => e.outcome !== 'success',
  },
  {
    name: 'reason equality',
    text: () => 'reason:invalid_credentials',
    match: is('reason', 'invalid_credentials'),
  },
  {
    name: 'negated reason keeps the events without a reason',
    text: () => '-reason:invalid_credentials',
    match: (e) => e.reason !== 'invalid_credentials',
  },
  { name: 'has a reason', text: () => 'reason:*', match: (e) => has(e, 'reason') },
  { name: 'has no reason', text: () => 'NOT reason:*', match: (e) => !has(e, 'reason') },
  ...HOSTILE.reasons.map((reason, i): QueryCase => ({
    name: `hostile reason ${i}, quoted and escaped`,
    text: () => `reason:${q(reason)}`,
    match: is('reason', reason),
  })),
  {
    name: 'a plain user',
    text: (d) => `user:${benchUser(d)}`,
    match: (e, d) => userIs(benchUser(d))(e),
  },
  {
    name: 'a pseudonymised user by the hash its events carry',
    text: (d) => `user:${d.pseudonyms.get('alice')}`,
    match: (e, d) => userIs(d.pseudonyms.get('alice')!)(e),
  },
  {
    name: 'a pseudonymised user by its id finds nothing',
    text: () => 'user:alice',
    match: userIs('alice'),
  },
  {
    name: 'has a user, id or hash',
    text: () => 'user:*',
    match: (e) => e.user?.id !== undefined || e.user?.hash !== undefined,
  },
  {
    name: 'has no user',
    text: () => '-user:*',
    match: (e) => e.user?.id === undefined && e.user?.hash === undefined,
  },
  ...HOSTILE.users.map((user, i): QueryCase => ({
    name: `hostile user ${i}, quoted and escaped`,
    text: () => `user:${q(user)}`,
    match: userIs(user),
  })),
  {
    name: 'client wildcard with a literal % before it',
    text: () => 'client:we%b*',
    match: (e) => wildcard('we%b*')(column(e, 'client')),
  },
  {
    name: 'client with an escaped, literal *',
    text: () => 'client:web\\*app',
    match: is('client', 'web*app'),
  },
  {
    name: 'client with a backslash',
    text: () => `client:${q('web\\app')}`,
    match: is('client', 'web\\app'),
  },
  {
    name: 'client prefix',
    text: () => 'client:client-1*',
    match: (e) => wildcard('client-1*')(column(e, 'client')),
  },
  { name: 'IPv4 CIDR /8', text: () => 'ip:10.0.0.0/8', match: ipIn('10.0.0.0/8') },
  { name: 'IPv4 CIDR /24', text: () => 'ip:192.0.2.0/24', match: ipIn('192.0.2.0/24') },
  { name: 'one IPv4 address', text: () => 'ip:192.0.2.255', match: ipIn('192.0.2.255') },
  {
    name: 'an IPv4 CIDR does not contain an IPv4-mapped IPv6 address',
    text: () => 'ip:198.51.100.0/24',
    match: ipIn('198.51.100.0/24'),
  },
  {
    name: 'an IPv4-mapped IPv6 address',
    text: () => 'ip:::ffff:198.51.100.7',
    match: ipIn('::ffff:198.51.100.7'),
  },
  { name: 'IPv6 CIDR /32', text: () => 'ip:2001:db8::/32', match: ipIn('2001:db8::/32') },
  {
    name: 'IPv6 CIDR /64',
    text: () => 'ip:2001:db8:0:1::/64',
    match: ipIn('2001:db8:0:1::/64'),
  },
  { name: 'one IPv6 address', text: () => 'ip:fd00::7', match: ipIn('fd00::7') },
  { name: 'every IPv6 address', text: () => 'ip:::/0', match: ipIn('::/0') },
  { name: 'every IPv4 address', text: () => 'ip:0.0.0.0/0', match: ipIn('0.0.0.0/0') },
  {
    name: 'negated CIDR keeps events without an address',
    text: () => '-ip:10.0.0.0/8',
    match: (e) => !ipIn('10.0.0.0/8')(e),
  },
  {
    name: 'has an address (a malformed one is none)',
    text: () => 'ip:*',
    match: (e) => has(e, 'ip'),
  },
  {
    name: 'hostile flow id',
    text: () => `flow:${q(HOSTILE.flow)}`,
    match: is('flow', HOSTILE.flow),
  },
  {
    name: 'a flow of the benchmark traffic',
    text: (d) => `flow:${first(d, (e) => e.flow?.id)}`,
    match: (e, d) => e.flow?.id === first(d, (x) => x.flow?.id),
  },
  { name: 'token fingerprint', text: () => 'token:bill-at-2-1', match: is('token', 'bill-at-2-1') },
  { name: 'has a token', text: () => 'token:*', match: (e) => has(e, 'token') },
  { name: 'service', text: () => 'service:billing-api', match: is('service', 'billing-api') },
  {
    name: 'instance',
    text: (d) => `instance:${q(benchInstance(d))}`,
    match: (e, d) => e.observer.instance === benchInstance(d),
  },
  {
    name: 'route prefix',
    text: () => 'route:/api/*',
    match: (e) => wildcard('/api/*')(column(e, 'route')),
  },
  {
    name: 'route wildcard after a literal % and _',
    text: () => 'route:/admin/100%_*',
    match: (e) => wildcard('/admin/100%_*')(column(e, 'route')),
  },
  {
    name: 'route with a parameter',
    text: () => 'route:/api/invoices/:id',
    match: is('route', '/api/invoices/:id'),
  },
  { name: 'status equality', text: () => 'status:401', match: is('status', 401) },
  { name: 'status >=', text: () => 'status:>=500', match: (e) => (status(e) ?? -1) >= 500 },
  { name: 'status >', text: () => 'status:>500', match: (e) => (status(e) ?? -1) > 500 },
  { name: 'status <', text: () => 'status:<300', match: (e) => (status(e) ?? 999) < 300 },
  { name: 'status <=', text: () => 'status:<=300', match: (e) => (status(e) ?? 999) <= 300 },
  {
    name: 'status range',
    text: () => 'status:400..499',
    match: (e) => (status(e) ?? 0) >= 400 && (status(e) ?? 0) <= 499,
  },
  { name: 'status range of one', text: () => 'status:204..204', match: is('status', 204) },
  {
    name: 'negated status keeps events without one',
    text: () => '-status:200',
    match: (e) => status(e) !== 200,
  },
  { name: 'has a status', text: () => 'status:*', match: (e) => has(e, 'status') },
  { name: 'trace id', text: () => 'trace:trace-2-3-1', match: is('trace', 'trace-2-3-1') },
  {
    name: 'event id',
    text: (d) => `id:${d.events[77]!.id}`,
    match: (e, d) => e.id === d.events[77]!.id,
  },
  {
    name: 'event id in capitals',
    text: (d) => `id:${d.events[1300]!.id.toUpperCase()}`,
    match: (e, d) => e.id === d.events[1300]!.id,
  },
  {
    name: 'OR in parentheses, AND implied',
    text: () => '(outcome:failure OR status:>=500) service:admin-portal',
    match: (e) =>
      (e.outcome === 'failure' || (status(e) ?? 0) >= 500) && e.observer.service === 'admin-portal',
  },
  {
    name: 'AND NOT of an OR',
    text: () => 'type:authn.login.* AND NOT (reason:invalid_credentials OR reason:mfa_failed)',
    match: (e) =>
      e.type.startsWith('authn.login.') &&
      e.reason !== 'invalid_credentials' &&
      e.reason !== 'mfa_failed',
  },
  {
    name: 'OR over users, addresses and tokens',
    text: (d) =>
      `user:${q(HOSTILE.users[1])} OR ip:2001:db8::/32 OR token:bill-at-3-0 OR user:${d.pseudonyms.get('bob')}`,
    match: (e, d) =>
      userIs(HOSTILE.users[1])(e) ||
      ipIn('2001:db8::/32')(e) ||
      e.oauth?.token?.fingerprint === 'bill-at-3-0' ||
      userIs(d.pseudonyms.get('bob')!)(e),
  },
  {
    name: 'nested negations',
    text: () =>
      '((type:app.* OR type:security.*) AND -(status:* OR reason:*)) OR -(-outcome:detected)',
    match: (e) =>
      ((e.type.startsWith('app.') || e.type.startsWith('security.')) &&
        !(has(e, 'status') || has(e, 'reason'))) ||
      e.outcome === 'detected',
  },
  {
    name: 'explicit AND',
    text: () => 'outcome:failure AND service:bench',
    match: (e) => e.outcome === 'failure' && e.observer.service === 'bench',
  },
];

describe('query: every field and operator', () => {
  test.each(QUERIES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const where = compileQuery(c.text(data));
    const matching = all.filter((e) => c.match(e, data));
    for (const order of ['asc', 'desc'] as const) {
      const page = await same((s) => s.query({ where, order, limit: 10_000 }));
      expect(ids(page.events)).toEqual(ids(inOrder(matching, order)));
      equal(page.events, stored(inOrder(matching, order)));
      expect(page.next).toBeUndefined();
    }
  });

  test('the cases are not vacuous: most match some events and miss others', () => {
    const sizes = QUERIES.map((c) => all.filter((e) => c.match(e, data)).length);
    // Only "a pseudonymised user by its id" matches nothing, only "no terms" everything.
    expect(sizes.filter((n) => n === 0)).toHaveLength(1);
    expect(sizes.filter((n) => n === all.length)).toHaveLength(1);
  });
});

describe('query: time ranges, order and pages', () => {
  const at = (i: number) => inOrder(all, 'asc')[i]!;

  test('from is included, to excluded, as Dates or ISO strings', async () => {
    const sorted = inOrder(all, 'asc');
    const [lo, hi] = [at(300), at(900)];
    const inRange = sorted.filter(
      (e) => Date.parse(e.time) >= Date.parse(lo.time) && Date.parse(e.time) < Date.parse(hi.time),
    );
    for (const range of [
      { from: lo.time, to: hi.time },
      { from: new Date(lo.time), to: new Date(hi.time) },
    ]) {
      const page = await same((s) => s.query({ ...range, order: 'asc', limit: 10_000 }));
      expect(ids(page.events)).toEqual(ids(inRange));
    }
    // One side open.
    const after = await same((s) => s.query({ from: hi.time, limit: 10_000 }));
    expect(ids(after.events)).toEqual(
      ids(
        inOrder(
          all.filter((e) => Date.parse(e.time) >= Date.parse(hi.time)),
          'desc',
        ),
      ),
    );
    const before = await same((s) => s.query({ to: lo.time, limit: 10_000, order: 'asc' }));
    expect(ids(before.events)).toEqual(
      ids(sorted.filter((e) => Date.parse(e.time) < Date.parse(lo.time))),
    );
    // An empty range, and one that is backwards: no events, not an error.
    expect(await same((s) => s.query({ from: lo.time, to: lo.time }))).toEqual({
      events: [],
      next: undefined,
    });
    expect(await same((s) => s.query({ from: hi.time, to: lo.time }))).toEqual({
      events: [],
      next: undefined,
    });
  });

  test.each([
    ['desc', 40, '', () => true],
    ['asc', 25, '', () => true],
    [
      'desc',
      1,
      'service:admin-portal type:app.*',
      (e: AuditEvent) => e.observer.service === 'admin-portal' && e.type.startsWith('app.'),
    ],
    [
      'asc',
      50,
      'outcome:failure OR ip:::/0',
      (e: AuditEvent) => e.outcome === 'failure' || ipIn('::/0')(e),
    ],
    ['desc', 333, '', () => true],
  ] as const)(
    'pages %s by %i through every event of "%s", no event twice',
    async (order, limit, text, match) => {
      const where = compileQuery(text);
      const from = new Date(FIRST_DAY + DAY).toISOString();
      const expected = inOrder(
        all.filter((e) => Date.parse(e.time) >= Date.parse(from) && match(e)),
        order,
      );
      const seen: AuditEvent[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await same((s) => s.query({ where, from, order, limit, after }));
        expect(page.events.length).toBe(Math.min(limit, expected.length - seen.length));
        seen.push(...page.events);
        after = page.next;
        pages++;
      } while (after !== undefined);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
      expect(ids(seen)).toEqual(ids(expected));
    },
  );

  test('the edges of limit: one, exactly all, one short of all, 10,000', async () => {
    const where = compileQuery('service:billing-api outcome:failure');
    const expected = inOrder(
      all.filter((e) => e.observer.service === 'billing-api' && e.outcome === 'failure'),
      'desc',
    );
    const n = expected.length;
    const one = await same((s) => s.query({ where, limit: 1 }));
    expect(ids(one.events)).toEqual(ids(expected.slice(0, 1)));
    expect(one.next).toEqual(expect.any(String));
    const exact = await same((s) => s.query({ where, limit: n }));
    expect(ids(exact.events)).toEqual(ids(expected));
    expect(exact.next).toBeUndefined();
    const short = await same((s) => s.query({ where, limit: n - 1 }));
    expect(ids(short.events)).toEqual(ids(expected.slice(0, n - 1)));
    const last = await same((s) => s.query({ where, limit: n, after: short.next }));
    expect(ids(last.events)).toEqual(ids(expected.slice(n - 1)));
    expect(last.next).toBeUndefined();
    // The default page is 100 events.
    expect((await same((s) => s.query())).events).toHaveLength(100);
  });

  test("a cursor is portable: one engine's cursor continues on another with the same page", async () => {
    const where = compileQuery('type:api.*');
    const pages = new Map<string, string>();
    for (const engine of ENGINES) {
      const page = await stores.get(engine.name)!.query({ where, limit: 25, order: 'asc' });
      pages.set(engine.name, page.next!);
    }
    const cursors = [...pages.values()];
    expect(new Set(cursors).size).toBe(1);
    const expected = inOrder(
      all.filter((e) => e.type.startsWith('api.')),
      'asc',
    ).slice(25, 50);
    for (const engine of ENGINES) {
      const page = await stores.get(engine.name)!.query({
        where,
        limit: 25,
        order: 'asc',
        after: cursors[0],
      });
      expect(ids(page.events)).toEqual(ids(expected));
    }
  });

  test('events of one millisecond page in id order, across a page boundary', async () => {
    const where = compileQuery('type:app.export.success');
    const expected = inOrder(
      all.filter((e) => e.type === 'app.export.success'),
      'asc',
    );
    expect(new Set(expected.map((e) => e.time)).size).toBe(1);
    const first = await same((s) => s.query({ where, limit: 2, order: 'asc' }));
    const rest = await same((s) => s.query({ where, limit: 10, order: 'asc', after: first.next }));
    expect(ids([...first.events, ...rest.events])).toEqual(ids(expected));
  });
});

describe('count', () => {
  const INTERVALS: BucketInterval[] = ['1m', '5m', '15m', '1h', '1d'];

  test.each(INTERVALS)('every event in %s buckets', async (interval) => {
    expect(await same((s) => s.count({ interval }))).toEqual(expectedCount(all, interval));
  });

  test.each(GROUP_FIELDS.map((f) => [f]))('by %s, hourly and daily', async (by) => {
    for (const interval of ['1h', '1d'] as const) {
      expect(await same((s) => s.count({ interval, by }))).toEqual(
        expectedCount(all, interval, by),
      );
    }
  });

  test.each([
    // Aligned to hours, and not: a rollup must answer the edge hours from the events.
    ['2026-11-28T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    ['2026-11-28T10:17:00.000Z', '2026-11-30T03:45:30.500Z'],
    ['2026-11-29T00:00:00.000Z', '2026-11-29T01:00:00.000Z'],
    ['2026-11-29T00:59:59.999Z', '2026-11-29T01:00:00.001Z'],
  ])('from %s to %s, by outcome, filtered', async (from, to) => {
    const inRange = all.filter(
      (e) => Date.parse(e.time) >= Date.parse(from) && Date.parse(e.time) < Date.parse(to),
    );
    for (const interval of ['5m', '1h', '1d'] as const) {
      expect(await same((s) => s.count({ from, to, interval, by: 'outcome' }))).toEqual(
        expectedCount(inRange, interval, 'outcome'),
      );
      const where = compileQuery('type:authn.* -service:bench');
      expect(await same((s) => s.count({ from, to, interval, by: 'reason', where }))).toEqual(
        expectedCount(
          inRange.filter((e) => e.type.startsWith('authn.') && e.observer.service !== 'bench'),
          interval,
          'reason',
        ),
      );
    }
  });

  test.each([
    [
      'client:we%b* OR client:web\\*app',
      'client',
      (e: AuditEvent) => ['we%bsite_x', 'web*app'].includes(column(e, 'client') as string),
    ],
    [
      'user:* -outcome:success',
      'user',
      (e: AuditEvent) => has(e, 'user') && e.outcome !== 'success',
    ],
    [
      'ip:2001:db8::/32 OR ip:192.0.2.0/24',
      'ip',
      (e: AuditEvent) => ipIn('2001:db8::/32')(e) || ipIn('192.0.2.0/24')(e),
    ],
    ['status:>=400', 'status', (e: AuditEvent) => (status(e) ?? 0) >= 400],
    ['reason:*', 'service', (e: AuditEvent) => has(e, 'reason')],
  ] as const)('filtered by "%s", split by %s', async (text, by, match) => {
    const where = compileQuery(text);
    for (const interval of ['15m', '1h', '1d'] as const) {
      expect(await same((s) => s.count({ where, interval, by }))).toEqual(
        expectedCount(all.filter(match), interval, by),
      );
    }
  });

  test('no events: no buckets', async () => {
    expect(
      await same((s) =>
        s.count({ interval: '1h', by: 'type', where: compileQuery('user:nobody') }),
      ),
    ).toEqual([]);
  });
});

describe('top', () => {
  test.each(GROUP_FIELDS.map((f) => [f]))(
    'values of %s, ties in key order, NULL last',
    async (field) => {
      for (const limit of [1, 3, 10, 1000]) {
        expect(await same((s) => s.top({ field, limit }))).toEqual(expectedTop(all, field, limit));
      }
    },
  );

  test('filtered and in a time range', async () => {
    const from = '2026-11-28T06:00:00.000Z';
    const to = '2026-11-30T18:30:00.000Z';
    const where = compileQuery('outcome:failure OR status:>=400');
    const match = (e: AuditEvent) =>
      Date.parse(e.time) >= Date.parse(from) &&
      Date.parse(e.time) < Date.parse(to) &&
      (e.outcome === 'failure' || (status(e) ?? 0) >= 400);
    for (const field of ['user', 'ip', 'reason', 'client', 'status'] as const) {
      expect(await same((s) => s.top({ field, where, from, to, limit: 5 }))).toEqual(
        expectedTop(all.filter(match), field, 5),
      );
    }
    // The default limit is 10.
    expect(await same((s) => s.top({ field: 'user' }))).toEqual(expectedTop(all, 'user', 10));
  });
});

/**
 * The trail of `id` as trail() documents it: an event id's flow, token life and session around
 * it (a day either side, the token's to a day past its expiry); any other id's parts a day
 * around their newest event (in `range` when given, whose bounds replace the windows').
 */
function expectedTrail(id: string, range: TimeRange = {}): Trail {
  const t = (e: AuditEvent) => Date.parse(e.time);
  const ms = (v: Date | string | undefined) =>
    v === undefined ? undefined : new Date(v).getTime();
  const from = ms(range.from);
  const to = ms(range.to);
  const inRange = (e: AuditEvent) =>
    (from === undefined || t(e) >= from) && (to === undefined || t(e) < to);
  const part = (match: (e: AuditEvent) => boolean, lo: number, hi: number) =>
    stored(
      inOrder(
        all.filter((e) => match(e) && t(e) >= (from ?? lo) && t(e) < (to ?? hi + 1)),
        'asc',
      ),
    );
  const flowIs = (k: string) => (e: AuditEvent) => e.flow?.id === k;
  const tokenIs = (k: string) => (e: AuditEvent) =>
    e.oauth?.token?.fingerprint === k || e.oauth?.presented?.fingerprint === k;
  const sessionIs = (k: string) => (e: AuditEvent) => e.session?.id === k;
  const anchor = all.find((e) => e.id === id.toLowerCase());
  if (anchor) {
    const at = t(anchor);
    const expires = Date.parse(anchor.oauth?.token?.expires_at ?? '');
    const end = Number.isNaN(expires) ? at : Math.min(Math.max(at, expires), at + 30 * DAY);
    const { flow, session } = anchor;
    const token = anchor.oauth?.token?.fingerprint;
    return {
      event: stored(anchor),
      flow: flow ? part(flowIs(flow.id), at - DAY, at + DAY) : [],
      token: token ? part(tokenIs(token), at - DAY, end + DAY) : [],
      session: session ? part(sessionIs(session.id), at - DAY, at + DAY) : [],
    };
  }
  const around = (match: (e: AuditEvent) => boolean) => {
    const newest = Math.max(...all.filter((e) => match(e) && inRange(e)).map(t));
    return newest === -Infinity ? [] : part(match, newest - DAY, newest + DAY);
  };
  return {
    event: undefined,
    flow: around(flowIs(id)),
    token: around(tokenIs(id)),
    session: around(sessionIs(id)),
  };
}

describe('trail', () => {
  const eventOf = (pick: (e: AuditEvent) => boolean) => () => all.find(pick)!.id;
  test.each([
    [
      "a token issue: its flow, session, and its 40-hour token's uses the next day",
      eventOf((e) => e.oauth?.token?.fingerprint === 'bill-at-2-1'),
    ],
    [
      'a sign-in of the benchmark traffic',
      eventOf((e) => e.observer.service === 'bench' && e.type === 'authn.login.success'),
    ],
    ['an event with no flow, token or session', eventOf((e) => e.type === 'app.heartbeat.success')],
    ['a flow that crosses midnight', () => 'bill-flow-3-4'],
    ['a refresh token: its refresh and its revocation', () => 'bill-rt-1-0'],
    ['an access token: issued and used', () => 'bill-at-1-2'],
    ['a session id', () => 'bill-sess-2-3'],
    ['a hostile flow id, on four days', () => HOSTILE.flow],
    ['a hostile session id', () => HOSTILE.session],
    ['an event id in capitals', () => all[1400]!.id.toUpperCase()],
    ['an unknown id', () => 'no-such-id'],
    ['an unknown UUIDv7', () => '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b'],
  ])('%s', async (_, id) => {
    const trail = await same((s) => s.trail(id()));
    expect(trail).toEqual(expectedTrail(id()));
  });

  test('the parts are not vacuous', () => {
    const token = expectedTrail(all.find((e) => e.oauth?.token?.fingerprint === 'bill-at-2-1')!.id);
    // Issued, three uses, and the use 30 hours later, on the next day.
    expect(token.token).toHaveLength(5);
    expect(new Set(token.token.map((e) => e.time.slice(0, 10))).size).toBe(2);
    expect(token.flow.length).toBeGreaterThan(1);
    expect(token.session.length).toBeGreaterThan(1);
    expect(expectedTrail('bill-flow-3-4').flow.map((e) => e.time.slice(0, 10))).toEqual(
      expect.arrayContaining(['2026-11-30', '2026-12-01']),
    );
    expect(expectedTrail('bill-rt-1-0').token.map((e) => e.type)).toEqual([
      'oauth.token_refresh.success',
      'oauth.token_revoke.success',
    ]);
    expect(expectedTrail(HOSTILE.flow).flow.length).toBeGreaterThan(0);
  });

  test('from and to bound where an id is looked for and what each part holds', async () => {
    for (const range of [
      { from: '2026-11-27T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z' },
      { from: new Date(FIRST_DAY + DAY), to: new Date(FIRST_DAY + 3 * DAY) },
      { to: '2026-11-29T10:00:00.000Z' },
    ]) {
      expect(await same((s) => s.trail(HOSTILE.flow, range))).toEqual(
        expectedTrail(HOSTILE.flow, range),
      );
      const event = all.find((e) => e.oauth?.token?.fingerprint === 'bill-at-2-1')!;
      expect(await same((s) => s.trail(event.id, range))).toEqual(expectedTrail(event.id, range));
    }
  });
});

describe('errors', () => {
  test.each([
    ['user:alice (', 13],
    ['user:alice )', 12],
    ['ip:10.0.0.300', 4],
    ['status:4xx', 8],
    ['nofield:x', 1],
    ['alice', 1],
    ['user:"unclosed', 15],
    ['reason:a*b', 8],
    ['id:not-a-uuid', 4],
  ])('the query %p is ERR_AUTHTRAIL_INVALID_QUERY at column %i', (text, position) => {
    let error: { code?: string; position?: number } = {};
    try {
      compileQuery(text);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error).toMatchObject({ code: 'ERR_AUTHTRAIL_INVALID_QUERY', position });
  });

  test.each([
    ['a cursor it did not make', (s: Store) => s.query({ after: 'bm90IGEgY3Vyc29y' })],
    [
      'a cursor with February 30th',
      (s: Store) =>
        s.query({
          after: Buffer.from(
            '1|2026-02-30T00:00:00.000Z|0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b',
          ).toString('base64url'),
        }),
    ],
    ['a limit of 0', (s: Store) => s.query({ limit: 0 })],
    ['a limit of 10,001', (s: Store) => s.query({ limit: 10_001 })],
    ['a fractional limit', (s: Store) => s.query({ limit: 1.5 })],
    ['an unknown order', (s: Store) => s.query({ order: 'sideways' as 'asc' })],
    ['a from that is no date', (s: Store) => s.query({ from: 'yesterday' })],
    ['a where that is no compiled query', (s: Store) => s.query({ where: 'TRUE' as never })],
    ['an unknown interval', (s: Store) => s.count({ interval: '2h' as '1h' })],
    ['a count split by trace', (s: Store) => s.count({ interval: '1h', by: 'trace' })],
    [
      'a count split by an unknown field',
      (s: Store) => s.count({ interval: '1h', by: 'nope' as 'user' }),
    ],
    ['a top of ids', (s: Store) => s.top({ field: 'id' })],
    ['a top of 1,001', (s: Store) => s.top({ field: 'user', limit: 1001 })],
    ['an empty trail id', (s: Store) => s.trail('')],
    ['a trail id of 513 characters', (s: Store) => s.trail('x'.repeat(513))],
    ['a trail from that is no date', (s: Store) => s.trail('x', { from: 'soon' })],
  ])('%s: ERR_AUTHTRAIL_INVALID_QUERY, the same message', async (_, run) => {
    const error = await refused(run);
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_QUERY');
    expect(error.message).not.toBe('');
  });

  test('retention options out of range: ERR_AUTHTRAIL_INVALID_OPTIONS naming each', async () => {
    const error = await refused((s) => s.retain({ days: 0, now: 'then' }));
    expect(error.code).toBe('ERR_AUTHTRAIL_INVALID_OPTIONS');
    expect(error.message).toContain('days');
    expect(error.message).toContain('now');
  });
});

describe('retain', () => {
  // Each chain's last event of a day, anchors left out, as retain reports it.
  const heads = (events: AuditEvent[]) => {
    const last = new Map<string, AuditEvent>();
    for (const e of events) {
      const chain = e.chain;
      if (!chain?.hash || typeof e.seq !== 'number' || chain.anchor === true) continue;
      const seen = last.get(chain.id);
      if (!seen || seen.seq! < e.seq) last.set(chain.id, e);
    }
    return [...last]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, e]) => ({ id, seq: e.seq!, hash: e.chain!.hash }));
  };
  const report = (day: string): DroppedPartition => {
    const events = inOrder(
      all.filter((e) => e.time.startsWith(day)),
      'asc',
    );
    return {
      day,
      partition: `authtrail_events_${day.replace(/-/g, '')}`,
      rows: events.length,
      first: events[0]!.time,
      last: events[events.length - 1]!.time,
      chainHeads: heads(events),
    };
  };

  test('drops whole days before the policy, reports what each held, and keeps the rest', async () => {
    const now = '2026-12-01T06:00:00.000Z';
    // Keep 2 days from December 1, 06:00: November 29, 06:00 is inside, so that day stays.
    const dropped = await same((s) => s.retain({ days: 2, now }));
    expect(dropped).toEqual([report('2026-11-27'), report('2026-11-28')]);
    expect(dropped[1]!.chainHeads).toHaveLength(1);
    const kept = all.filter((e) => e.time >= '2026-11-29');
    expect(await same((s) => s.count({ interval: '1d', by: 'service' }))).toEqual(
      expectedCount(kept, '1d', 'service'),
    );
    expect(await same((s) => s.top({ field: 'user', limit: 20 }))).toEqual(
      expectedTop(kept, 'user', 20),
    );
    // Nothing left to drop.
    expect(await same((s) => s.retain({ days: 2, now }))).toEqual([]);
  });

  test('a report that cannot be recorded keeps its day: the drop is rolled back', async () => {
    const error = await refused((s) =>
      s.retain({
        days: 1,
        now: '2026-12-01T06:00:00.000Z',
        onDrop: () => {
          throw new Error('cannot record the report');
        },
      }),
    );
    expect(error.code).toBe('ERR_AUTHTRAIL_STORE_FAILED');
    expect(error.message).toContain('cannot record the report');
    // November 29 was the first to go: nothing was dropped.
    expect(error.dropped).toEqual([]);
    const kept = all.filter((e) => e.time >= '2026-11-29');
    expect(await same((s) => s.count({ interval: '1d' }))).toEqual(expectedCount(kept, '1d'));
  });
});

describe('a closed store', () => {
  test('refuses every call with ERR_AUTHTRAIL_CLOSED, and closes again quietly', async () => {
    for (const store of stores.values()) await store.close();
    for (const run of [
      (s: Store) => s.migrate(),
      (s: Store) => s.insert(all.slice(0, 1)),
      (s: Store) => s.query(),
      (s: Store) => s.count({ interval: '1h' }),
      (s: Store) => s.top({ field: 'user' }),
      (s: Store) => s.trail(all[0]!.id),
      (s: Store) => s.retain({ days: 1 }),
    ]) {
      expect((await refused(run)).code).toBe('ERR_AUTHTRAIL_CLOSED');
    }
    expect(await same((s) => s.close())).toBeUndefined();
  });
});
