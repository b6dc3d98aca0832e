// `authtrail query`, `flow` and `stats` run as child processes (the built CLI, as a user runs it)
// over a real PostgreSQL store: a schema of its own on the machine's server, filled through
// storeSink by three auditors (a relying party, its provider, an API) and dropped afterwards.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
import { storeSink } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_cli_${randomBytes(5).toString('hex')}`;
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const RANGE = ['--from', '2026-03-02T00:00:00Z', '--to', '2026-03-03T00:00:00Z'];

// Data that arrived in the store from elsewhere (an imported file, another writer): core strips
// control characters from what it records, the CLI may not count on it.
const HOSTILE_USER = 'evil\x1b[31mRED\nforged\u202eabc';
const HOSTILE_CLIENT = '=HYPERLINK("http://x.example","y")';

let events: AuditEvent[] = [];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '', AUTHTRAIL_STORE: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const store = (...args: string[]) => cli([...args, '--store', PG_URL, '--schema', SCHEMA]);

const byTimeDesc = (a: AuditEvent, b: AuditEvent) =>
  b.time.localeCompare(a.time) || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0);

beforeAll(async () => {
  const target = postgresStore({ connectionString: PG_URL, schema: SCHEMA });
  let now = T0;
  const copy = memorySink();
  const auditor = (service: string, stored = true) =>
    createAuditor({
      sinks: stored ? [storeSink(target, { closeStore: false }), copy] : [copy],
      service,
      keys: { fingerprint: 'cli-test-fingerprint-key-0123456789abcdef' },
      clock: () => now,
    });
  const rp = auditor('web-rp');
  const op = auditor('idp');
  const api = auditor('orders-api');
  // Its one event never reaches the store: it is made hostile below and inserted directly.
  const unstored = auditor('idp', false);
  const at = (ms: number, who: typeof rp, event: ManualEvent) => {
    now = T0 + ms;
    who.record(event);
  };
  const web = { id: 'web' };
  const http = (method: string, route: string, status: number) => ({
    method,
    route,
    path: route,
    status,
    duration_ms: 4,
  });
  const token = (fingerprint: string) => ({
    token: { type: 'access_token', fingerprint, verified: true },
  });

  // A login that fails at the provider (wrong password), then at the relying party.
  const alice = { source: { ip: '203.0.113.7' }, client: web };
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
  // The second try succeeds: a session, a token, calls with it until it expires.
  const ok = {
    ...alice,
    user: { id: 'alice' },
    flow: { id: 'flow-two-bbbb' },
    session: { id: 'sess-1' },
  };
  at(60_000, rp, {
    type: 'authn.login_start.success',
    observer: { role: 'rp' },
    flow: { id: 'flow-two-bbbb' },
    http: http('GET', '/login', 302),
    ...alice,
  });
  at(62_000, op, { type: 'authn.login.success', observer: { role: 'op' }, ...ok });
  at(62_500, op, {
    type: 'oauth.token_issue.success',
    observer: { role: 'op' },
    oauth: token('tok-fp-1'),
    ...ok,
  });
  at(63_000, rp, {
    type: 'authn.login.success',
    observer: { role: 'rp' },
    http: http('GET', '/callback', 302),
    ...ok,
  });
  for (let i = 0; i < 3; i++)
    at(120_000 + i * 1000, api, {
      type: 'api.access.success',
      oauth: token('tok-fp-1'),
      user: { id: 'alice' },
      client: web,
      source: { ip: '203.0.113.7' },
      http: http('GET', '/api/orders', 200),
    });
  at(300_000, api, {
    type: 'api.access.failure',
    reason: 'token_expired',
    oauth: token('tok-fp-1'),
    user: { id: 'alice' },
    client: web,
    source: { ip: '203.0.113.7' },
    http: http('GET', '/api/orders', 401),
  });
  // An hour later: someone tries bob's password from one address.
  for (let i = 0; i < 5; i++)
    at(3_600_000 + i * 10_000, op, {
      type: 'authn.login.failure',
      reason: 'invalid_credentials',
      observer: { role: 'op' },
      user: { id: 'bob' },
      client: { id: 'mobile' },
      source: { ip: '198.51.100.9' },
    });
  at(3_700_000, unstored, {
    type: 'authn.login.failure',
    reason: 'invalid_credentials',
    observer: { role: 'op' },
    user: { id: 'placeholder' },
    client: { id: 'placeholder' },
    source: { ip: '192.0.2.66' },
  });
  await Promise.all([rp.close(), op.close(), api.close(), unstored.close()]);
  events = [...(copy.events as AuditEvent[])];
  // The last one becomes hostile, as if written by another tool, and goes in directly.
  const last = events.splice(
    events.findIndex((e) => e.user?.id === 'placeholder'),
    1,
  )[0]!;
  const hostile: AuditEvent = {
    ...last,
    user: { id: HOSTILE_USER },
    client: { id: HOSTILE_CLIENT },
  };
  await target.insert([hostile]);
  events.push(hostile);
  await target.close();
}, 20_000);

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
});

const parseLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);

describe('authtrail query', () => {
  test('prints ndjson when piped, newest first, and pages with the cursor it writes to stderr', async () => {
    expect(events).toHaveLength(17);
    const seen: AuditEvent[] = [];
    let after: string[] = [];
    for (let page = 0; page < 10; page++) {
      const { code, stdout, stderr } = await store('query', '', ...RANGE, '--limit', '6', ...after);
      expect(code).toBe(0);
      const lines = parseLines(stdout);
      seen.push(...lines);
      const next = /^next page: --after (\S+)$/m.exec(stderr)?.[1];
      if (next === undefined) break;
      expect(lines).toHaveLength(6);
      after = ['--after', next];
    }
    expect(seen.map((e) => e.id)).toEqual([...events].sort(byTimeDesc).map((e) => e.id));
    // The store's copy is the event itself: the hostile strings come back as data.
    expect(seen.find((e) => e.client?.id === HOSTILE_CLIENT)?.user?.id).toBe(HOSTILE_USER);
  });

  test('filters with the query language, oldest first with --order asc, as one JSON array', async () => {
    const { code, stdout } = await store(
      'query',
      'user:alice outcome:failure',
      ...RANGE,
      '--order',
      'asc',
      '--format',
      'json',
    );
    expect(code).toBe(0);
    const found = JSON.parse(stdout) as AuditEvent[];
    expect(found.map((e) => [e.type, e.reason])).toEqual([
      ['authn.login.failure', 'invalid_credentials'],
      ['api.access.failure', 'token_expired'],
    ]);
  });

  test('prints a table with one row an event and every hostile string escaped, no colour when piped', async () => {
    const { code, stdout, stderr } = await store(
      'query',
      'outcome:failure',
      ...RANGE,
      '--format',
      'table',
    );
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^time\s+type\s+outcome\s+reason\s+user\s+client\s+ip\s+route\/status\s+flow$/,
    );
    // 9 failures, a header, no cursor line (they fit in one page of 50): a newline in a user id did not add a row.
    expect(lines).toHaveLength(10);
    for (const raw of ['\x1b', '\u202e', '\r']) expect(stdout).not.toContain(raw);
    const row = lines.find((l) => l.includes('evil'))!;
    expect(row).toContain('evil\\u{1b}[31mRED\\u{a}forged\\u{202e}abc'.slice(0, 23) + '…');
    expect(row).toContain('192.0.2.66');
    const api = lines.find((l) => l.includes('token_expired'))!;
    expect(api.split(/\s{2,}/)).toEqual([
      '2026-03-02T10:05:00.000Z',
      'api.access.failure',
      'failure',
      'token_expired',
      'alice',
      'web',
      '203.0.113.7',
      '/api/orders 401',
    ]);
    expect(lines.find((l) => l.includes('access_denied'))).toMatch(/\/callback 302\s+flow-one$/);
  });

  test('writes CSV by RFC 4180 with formulas defused', async () => {
    const { code, stdout } = await store('query', 'ip:192.0.2.0/24', ...RANGE, '--format', 'csv');
    expect(code).toBe(0);
    const rows = stdout.split('\r\n');
    expect(rows[0]).toBe(
      'time,id,type,outcome,reason,user,client,ip,route,status,flow,service,instance',
    );
    const hostile = events.find((e) => e.client?.id === HOSTILE_CLIENT)!;
    expect(rows[1]).toBe(
      [
        hostile.time,
        hostile.id,
        'authn.login.failure',
        'failure',
        'invalid_credentials',
        // Quoted because of the newline; the raw ESC stays (CSV is data, not a terminal).
        `"${HOSTILE_USER}"`,
        `"'=HYPERLINK(""http://x.example"",""y"")"`,
        '192.0.2.66',
        '',
        '',
        '',
        'idp',
        hostile.observer.instance,
      ].join(','),
    );
    expect(rows.slice(2)).toEqual(['']);
  });

  test('takes times relative to now as people write them (--from -3650d)', async () => {
    const newest = [...events].sort(byTimeDesc)[0]!;
    const recent = await store('query', '', '--from', '-3650d', '--to', 'now', '--limit', '1');
    expect(recent.code).toBe(0);
    expect(parseLines(recent.stdout).map((e) => e.id)).toEqual([newest.id]);
    // Nothing in the future, and a time that is not one is a usage error.
    expect((await store('query', '', '--from', '-0d')).stdout).toBe('');
    const bad = await store('query', '', '--from', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from yesterday is not a time');
  });

  test('a malformed query is shown with a caret under the problem, exit 2, before any connection', async () => {
    // No store at all: the query is refused first.
    const { code, stdout, stderr } = await cli(['query', 'type:authn.login.* AND (user:alice']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toEqual([
      "authtrail: invalid query at 35: expected ')' to close the '(' at 24, found end of query",
      '  type:authn.login.* AND (user:alice',
      '  ' + ' '.repeat(34) + '^',
      '',
    ]);
    // An escaped control character before the problem does not move the caret off it.
    const hostile = await cli(['query', 'user:"a\x1b[2Jb" usr:x']);
    expect(hostile.code).toBe(2);
    const [, query, caret] = hostile.stderr.split('\n');
    expect(query).toBe('  user:"a\\u{1b}[2Jb" usr:x');
    expect(query!.slice(caret!.indexOf('^'))).toBe('usr:x');
  });

  test('an unreachable store exits 1 with the fix and never the password', async () => {
    const url = 'postgres://authtrail:Pw-Canary-7f3a@127.0.0.1:1/test';
    for (const result of [
      await cli(['query', 'outcome:failure', '--store', url]),
      await cli(['stats'], { AUTHTRAIL_STORE: url }),
    ]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'PostgreSQL at postgres://authtrail@127.0.0.1:1/test is unavailable (ECONNREFUSED)',
      );
      expect(result.stderr).toContain('start PostgreSQL');
      expect(result.stdout + result.stderr).not.toContain('Pw-Canary-7f3a');
    }
  });

  test('a mistyped --schema exits 1 saying nothing is stored there, and creates nothing', async () => {
    const typo = `${SCHEMA}_typo`;
    const { code, stderr } = await cli(['query', '', '--store', PG_URL, '--schema', typo]);
    expect(code).toBe(1);
    expect(stderr).toContain(`no authtrail store in schema "${typo}"`);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        'SELECT 1 FROM information_schema.schemata WHERE schema_name = $1',
        [typo],
      );
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  test('a URL that is not postgres:// is refused without echoing it (it may hold a password)', async () => {
    const { code, stderr } = await cli(['query', '', '--store', 'postgress://u:s3cret@db/x']);
    expect(code).toBe(2);
    expect(stderr).toContain('--store is a URL, but not postgres://');
    expect(stderr).not.toContain('s3cret');
  });
});

describe('authtrail flow', () => {
  test('prints the login flow of an event as a timeline from +0.000s, failures marked', async () => {
    const failure = events.find((e) => e.reason === 'access_denied')!;
    const { code, stdout } = await store('flow', failure.id);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `event ${failure.id}  2026-03-02T10:00:02.250Z  authn.login.failure failure access_denied`,
    );
    expect(lines[1]).toBe('');
    expect(lines[2]).toBe(
      'login flow flow-one-aaaa: 3 events from 2026-03-02T10:00:00.000Z, 2 failed',
    );
    expect(lines.slice(3).map((l) => l.split(/\s{2,}/))).toEqual([
      ['', '+0.000s', 'rp/web-rp', 'authn.login_start.success', 'success', 'GET /login 302'],
      [' ✗', '+1.500s', 'op/idp', 'authn.login.failure', 'failure invalid_credentials'],
      [
        '>✗',
        '+2.250s',
        'rp/web-rp',
        'authn.login.failure',
        'failure access_denied',
        'GET /callback 302',
      ],
    ]);
  });

  test('prints the life of a token and its session from the fingerprint or the session id', async () => {
    const byToken = await store('flow', 'tok-fp-1');
    expect(byToken.code).toBe(0);
    expect(byToken.stdout).toMatch(
      /^token tok-fp-1: 5 events from 2026-03-02T10:01:02.500Z, 1 failed$/m,
    );
    const offsets = [...byToken.stdout.matchAll(/\s(\+\d+\.\d{3}s)\s/g)].map((m) => m[1]);
    expect(offsets).toEqual(['+0.000s', '+57.500s', '+58.500s', '+59.500s', '+237.500s']);
    expect(byToken.stdout).toMatch(
      /✗\s+\+237\.500s\s+rs\/orders-api\s+api\.access\.failure\s+failure token_expired/,
    );

    const bySession = await store('flow', 'sess-1', '--format', 'json');
    expect(bySession.code).toBe(0);
    const trail = JSON.parse(bySession.stdout);
    expect(trail.session.map((e: AuditEvent) => e.type)).toEqual([
      'authn.login.success',
      'oauth.token_issue.success',
      'authn.login.success',
    ]);
  });

  test('an id nothing has exits 1', async () => {
    const { code, stderr } = await store('flow', 'no-such-flow');
    expect(code).toBe(1);
    expect(stderr).toBe('authtrail: no event, flow, token or session no-such-flow in the store\n');
  });
});

describe('authtrail stats', () => {
  test('counts events per hour by outcome and ranks the failing users, IPs and clients', async () => {
    const { code, stdout } = await store('stats', ...RANGE, '--format', 'json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    const count = (hour: number, outcome: string) =>
      events.filter((e) => new Date(e.time).getUTCHours() === hour && e.outcome === outcome).length;
    expect(result.buckets).toEqual([
      { start: '2026-03-02T10:00:00.000Z', key: 'failure', count: count(10, 'failure') },
      { start: '2026-03-02T10:00:00.000Z', key: 'success', count: count(10, 'success') },
      { start: '2026-03-02T11:00:00.000Z', key: 'failure', count: count(11, 'failure') },
    ]);
    expect(result.buckets.map((b: { count: number }) => b.count)).toEqual([3, 8, 6]);
    expect(result.failing.user.slice(0, 2)).toEqual([
      { key: 'bob', count: 5 },
      { key: 'alice', count: 2 },
    ]);
    expect(result.failing.ip[0]).toEqual({ key: '198.51.100.9', count: 5 });
    expect(result.failing.client[0]).toEqual({ key: 'mobile', count: 5 });
  });

  test('prints a compact table split by client, with the query applied', async () => {
    const { code, stdout } = await store(
      'stats',
      'type:authn.*',
      ...RANGE,
      '--by',
      'client',
      '--format',
      'table',
      '--top',
      '1',
    );
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual([
      'start (client)',
      'web',
      'mobile',
      '=HYPERLINK("http://x.ex…',
      'total',
    ]);
    expect(lines[1]!.split(/\s+/)).toEqual(['2026-03-02T10:00Z', '6', '0', '0', '6']);
    expect(lines[2]!.split(/\s+/)).toEqual(['2026-03-02T11:00Z', '0', '5', '1', '6']);
    expect(lines[3]!.split(/\s+/)).toEqual(['total', '6', '5', '1', '12']);
    expect(stdout).toContain('top failing users\n       5  bob\n');
    expect(stdout).toContain('top failing IPs\n       5  198.51.100.9\n');
  });
});
