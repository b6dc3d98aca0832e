// `authtrail console` as a user runs it (the built CLI, a child process) over a real PostgreSQL
// store in a schema of its own: the printed one-time link signs in once, the API answers, and
// every call lands in the same store as an access event.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import pg from 'pg';
import { createAuditor } from '@authtrail/core';
import { compileQuery, storeSink } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_cli_console_${randomBytes(5).toString('hex')}`;

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      request(url, { headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      })
        .on('error', reject)
        .end();
    },
  );
}

beforeAll(async () => {
  const store = postgresStore({ connectionString: PG_URL, schema: SCHEMA });
  const auditor = createAuditor({ sinks: [storeSink(store)], heartbeat: false });
  auditor.record({
    type: 'authn.login.failure',
    reason: 'invalid_credentials',
    user: { id: 'bob' },
  });
  await auditor.close();
});

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
});

test('prints a one-time sign-in link on 127.0.0.1, serves the API, records each call into the store, and stops on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'console', '--store', PG_URL, '--schema', SCHEMA, '--port', '0'],
    { env: { ...process.env, AUTHTRAIL_STORE: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const link = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const match = /^(http:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]{43})\n/m.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`exited: ${stderr}`)));
  });
  const token = new URL(link).searchParams.get('token')!;
  const base = new URL(link).origin;

  const login = await get(link);
  expect(login.status).toBe(303);
  expect(login.headers.location).toBe('/');
  const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0]!;
  expect((await get(link)).status).toBe(401); // spent
  const search = await get(`${base}/api/search?q=user:bob`, { cookie });
  expect(search.status).toBe(200);
  expect(JSON.parse(search.text).events).toHaveLength(1);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);

  const store = postgresStore({ connectionString: PG_URL, schema: SCHEMA, readOnly: true });
  try {
    const page = await store.query({ where: compileQuery('type:audit.access.*'), order: 'asc' });
    expect(page.events.map((e) => [e.type, e.access?.view, e.http?.status])).toEqual([
      ['audit.access.success', 'login', 303],
      ['audit.access.failure', 'login', 401],
      ['audit.access.success', 'search', 200],
    ]);
    expect(page.events[2]).toMatchObject({
      user: { id: 'admin' },
      access: { query: 'user:bob', results: 1 },
      observer: { service: 'authtrail-console' },
    });
    expect(JSON.stringify(page.events)).not.toContain(token);
    expect(JSON.stringify(page.events)).not.toContain(cookie.split('=')[1]);
    expect(stderr).not.toContain(token);
  } finally {
    await store.close();
  }
}, 30_000);
