// The store conformance suite's dataset: three services recording through real auditors over five
// UTC days. `bench` is bench/store/generate.mjs run in a child process (another instance: its own
// pid), the benchmark's realistic sign-ins, token issue / use / refresh / revoke, sessions and
// failures. `billing-api` pseudonymises its users, chains its events and sees IPv6 clients, with a
// token that lives past the next day. `admin-portal` has plain users and the hostile values: quotes,
// `%`, `_`, `*`, backslashes and non-ASCII in user, client, flow and session ids and reasons; events
// without any optional field; an IPv4-mapped address and one that is no address; several events in
// one millisecond; events on the edges of minutes, hours and days.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The first UTC day of the dataset (bench's traffic starts a day later and runs to December 1). */
export const FIRST_DAY = Date.UTC(2026, 10, 27);
const BENCH_EVENTS = 1200;
const BENCH_DAYS = 3;

/** Values no SQL, LIKE pattern or query language token may treat as anything but text. */
export const HOSTILE = {
  users: [
    `o'brien "the" admin`,
    '50%_off',
    'star*user',
    'back\\slash\\',
    'zoë-東京-🙂',
    'user_%',
    'OR',
    '(paren) -dash',
  ],
  // `we%b*` as a wildcard must find the first, never the second (a literal `%`, not LIKE's).
  clients: ['we%bsite_x', 'weXbsite_x', 'web*app', 'web\\app'],
  reasons: [`quota "exceeded" 100% \\ *`, 'état_invalide', "it's_%"],
  flow: `fl'ow %_*\\ "x"`,
  session: `sess'%_*\\`,
} as const;

export interface Dataset {
  /** Every event, each once, in the order the auditors delivered them. */
  events: AuditEvent[];
  /** The user ids billing-api recorded, and the pseudonym (user.hash) each became. */
  pseudonyms: Map<string, string>;
}

/** A UUIDv7 of the test clock's millisecond (core's own generator would use the real time). */
function idSource(prefix: number): (ms: number) => string {
  let n = 0;
  return (ms) => {
    const h = ms.toString(16).padStart(12, '0');
    // The counter's bits descend with n, so ids in one millisecond are not in recording order.
    const c = (0xfffff - n++).toString(16).padStart(5, '0');
    return `${h.slice(0, 8)}-${h.slice(8)}-7${prefix.toString(16).padStart(3, '0')}-8${c.slice(0, 3)}-${c.slice(3)}0000000000`;
  };
}

/** Records `script`'s events through a real auditor whose clock is the `at` it is handed. */
async function record(
  options: Parameters<typeof createAuditor>[0],
  prefix: number,
  script: (at: (ms: number) => void, rec: (e: ManualEvent) => void) => void,
): Promise<AuditEvent[]> {
  let now = 0;
  const sink = memorySink();
  const auditor = createAuditor({
    ...options,
    sinks: [sink],
    clock: () => now,
    ids: idSource(prefix),
  });
  script(
    (ms) => (now = ms),
    (e) => auditor.record(e),
  );
  await auditor.close();
  return sink.events;
}

/** billing-api: pseudonymised users from IPv6 addresses, each sign-in with its tokens and session. */
function billing(at: (ms: number) => void, rec: (e: ManualEvent) => void): void {
  const users = ['alice', 'bob', 'carol', 'dave'];
  const ips = ['2001:db8::1', '2001:db8:0:1::25', '2001:db8:ffff::9', 'fd00::7'];
  for (let d = 1; d <= 3; d++) {
    for (let i = 0; i < 5; i++) {
      // The last sign-in of a day starts 5 s before midnight: its flow crosses into the next.
      let t = FIRST_DAY + d * DAY + (i === 4 ? DAY - 5000 : 8 * HOUR + i * 97 * 60_000);
      const step = (ms: number) => at((t += ms));
      const k = `${d}-${i}`;
      const user = { id: users[(d + i) % users.length] };
      const source = { ip: ips[(d * 5 + i) % ips.length], user_agent: 'Mozilla/5.0 (X11)' };
      const flow = { id: `bill-flow-${k}` };
      const session = { id: `bill-sess-${k}` };
      const client = { id: 'billing-web' };
      const access = `bill-at-${k}`;
      const refresh = `bill-rt-${k}`;
      const http = (method: string, route: string, status: number) => ({ method, route, status });
      step(0);
      rec({
        type: 'authn.login_start.success',
        observer: { role: 'rp' },
        user,
        client,
        flow,
        source,
        http: http('GET', '/login', 302),
      });
      if (i % 3 === 0) {
        step(5000);
        rec({
          type: 'authn.login.failure',
          observer: { role: 'rp' },
          reason: 'mfa_failed',
          user,
          client,
          flow,
          source,
          http: http('GET', '/callback', 401),
        });
      }
      step(7000);
      // One token of each day lives 40 hours: its uses the next day are part of its life.
      const long = i === 1;
      rec({
        type: 'oauth.token_issue.success',
        observer: { role: 'op' },
        user,
        client,
        flow,
        // The OP's session: an event of a flow, a token and a session at once.
        session,
        source,
        http: http('POST', '/token', 200),
        oauth: {
          token: {
            type: 'access_token',
            fingerprint: access,
            verified: true,
            expires_at: new Date(t + (long ? 40 : 1) * HOUR).toISOString(),
          },
        },
      });
      step(30);
      rec({
        type: 'authn.login.success',
        observer: { role: 'rp' },
        user,
        client,
        flow,
        session,
        source,
        http: http('GET', '/callback', 302),
      });
      for (let c = 0; c < 3; c++) {
        step(40_000);
        const denied = c === 2 && i % 2 === 0;
        rec({
          type: denied ? 'api.authz.failure' : 'api.access.success',
          ...(denied ? { reason: 'insufficient_scope' } : {}),
          user,
          client,
          session,
          source,
          http: http(c === 1 ? 'POST' : 'GET', '/api/invoices/:id', denied ? 403 : 200),
          oauth: { presented: { type: 'access_token', fingerprint: access, verified: true } },
        });
      }
      if (long) {
        step(30 * HOUR);
        rec({
          type: 'api.access.success',
          user,
          client,
          source,
          http: http('GET', '/api/invoices', 200),
          oauth: { presented: { type: 'access_token', fingerprint: access, verified: true } },
        });
        continue;
      }
      step(60_000);
      rec({
        type: 'oauth.token_refresh.success',
        observer: { role: 'op' },
        user,
        client,
        source,
        http: http('POST', '/token', 200),
        oauth: {
          token: { type: 'access_token', fingerprint: `${access}-2`, verified: true },
          presented: { type: 'refresh_token', fingerprint: refresh, verified: true },
        },
      });
      step(60_000);
      rec(
        i % 2 === 0
          ? {
              type: 'oauth.token_revoke.success',
              observer: { role: 'op' },
              client,
              source,
              http: http('POST', '/token/revocation', 200),
              oauth: { presented: { type: 'refresh_token', fingerprint: refresh, verified: true } },
            }
          : {
              type: 'authn.logout.success',
              observer: { role: 'rp' },
              user,
              client,
              session,
              source,
              http: http('GET', '/logout', 302),
            },
      );
    }
  }
}

/** admin-portal: plain users, hostile values, bare events, and events on bucket edges. */
function admin(at: (ms: number) => void, rec: (e: ManualEvent) => void): void {
  const ips = ['192.0.2.10', '192.0.2.255', '198.51.100.7', '::ffff:198.51.100.7', 'unknown'];
  const statuses = [200, 204, 299, 300, 302, 399, 400, 401, 499, 500, 503, 599];
  const reasons = [...HOSTILE.reasons, 'invalid_credentials'];
  let n = 0;
  for (let d = 0; d <= 3; d++) {
    HOSTILE.users.forEach((id, u) => {
      for (let k = 0; k < 3; k++) {
        at(FIRST_DAY + d * DAY + 10 * HOUR + u * 11 * 60_000 + k * 45_000 + d * 7);
        const failed = (u + k + d) % 3 === 0;
        const status = statuses[n % statuses.length]!;
        rec({
          type: failed ? 'authn.login.failure' : 'authn.login.success',
          observer: { role: 'rp' },
          ...(failed ? { reason: reasons[n % reasons.length] } : {}),
          user: { id },
          client: { id: HOSTILE.clients[n % HOSTILE.clients.length]! },
          source: { ip: ips[n % ips.length] },
          http: {
            method: 'POST',
            route: n % 2 === 0 ? '/admin/login' : '/admin/100%_done',
            status,
          },
          trace: { id: `trace-${d}-${u}-${k}`, span_id: 'span' },
          ...(u === 0 ? { flow: { id: HOSTILE.flow }, session: { id: HOSTILE.session } } : {}),
        });
        n++;
      }
    });
    // Bare events: a type and nothing else the store has a column for.
    for (let b = 0; b < 4; b++) {
      at(FIRST_DAY + d * DAY + 15 * HOUR + b * 1000);
      rec({ type: 'app.heartbeat.success' });
    }
    // Detections, with a reason and nothing else.
    at(FIRST_DAY + d * DAY + 16 * HOUR);
    rec({ type: 'security.brute_force.detected', reason: 'threshold' });
  }
  // Five events in one millisecond: their order is their ids' (the page cursor's tie-break).
  at(FIRST_DAY + 2 * DAY + 12 * HOUR);
  for (let s = 0; s < 5; s++)
    rec({ type: 'app.export.success', user: { id: 'exporter' }, http: { status: 200 + s } });
  // The edges of buckets: a day's first millisecond, an hour's last, an hour's first.
  for (const edge of [
    FIRST_DAY + 2 * DAY,
    FIRST_DAY + 2 * DAY + HOUR - 1,
    FIRST_DAY + 2 * DAY + HOUR,
    FIRST_DAY + 2 * DAY + 5 * 60_000 - 1,
    FIRST_DAY + 4 * DAY - 1,
  ]) {
    at(edge);
    rec({ type: 'app.edge.success', client: { id: 'edge' }, source: { ip: '192.0.2.1' } });
  }
}

/** bench/store/generate.mjs in a child process: realistic traffic from another instance. */
async function bench(): Promise<AuditEvent[]> {
  const dir = await mkdtemp(join(tmpdir(), 'authtrail-conformance-'));
  const out = join(dir, 'bench.jsonl');
  const generator = resolve(__dirname, '../../bench/store/generate.mjs');
  // The options as one JSON argument: a script path in argv[1] would start generate.mjs's own
  // command line (a million events) as well.
  const options = { events: BENCH_EVENTS, days: BENCH_DAYS, seed: 16 };
  try {
    await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      `const { generator, out, options } = JSON.parse(process.argv[1]);
       const { generate, jsonLinesSink } = await import(generator);
       await generate({ ...options, sinks: [jsonLinesSink(out)] });`,
      JSON.stringify({ generator, out, options }),
    ]);
    const text = await readFile(out, 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditEvent);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds the dataset (about 1,450 events); a few hundred milliseconds, most of it the child. */
export async function buildDataset(): Promise<Dataset> {
  const fingerprint = 'conformance-fingerprint-key-0123456789';
  const [benchEvents, billingEvents, adminEvents] = await Promise.all([
    bench(),
    record(
      {
        service: 'billing-api',
        pseudonymize: true,
        keys: {
          fingerprint,
          pseudonym: 'conformance-pseudonym-key-0123456789ab',
          chain: 'conformance-chain-key-0123456789abcdef',
        },
      },
      1,
      billing,
    ),
    record({ service: 'admin-portal', keys: { fingerprint } }, 2, admin),
  ]);
  const pseudonyms = new Map<string, string>();
  const users = ['alice', 'bob', 'carol', 'dave'];
  // billing's users in the order its first sign-in met them ((d + i) % 4 from d = 1, i = 0).
  const firsts = billingEvents.filter((e) => e.type === 'authn.login_start.success');
  for (let i = 0; i < users.length; i++)
    pseudonyms.set(users[(1 + i) % 4]!, firsts[i]!.user!.hash!);
  return { events: [...benchEvents, ...billingEvents, ...adminEvents], pseudonyms };
}
