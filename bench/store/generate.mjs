// Deterministic traffic for the store benchmark (issue 16, Figures): 10,000 users, 50 clients,
// `days` days of sign-ins with failures, consent, token issue / refresh / revoke, API calls, logouts,
// and a few attacks (a brute force on one account, a password spray from one IP over many users).
//
//   node bench/store/generate.mjs --events 5000000 --days 30 --seed 42 --out /tmp/events.jsonl
//
// Events are built by @authtrail/core itself, not synthesised: a real auditor with an injected clock
// and id source (the `clock` / `ids` test options) records each one with record(), so every line has
// the native shape, limits and redaction of a real event. Same seed, same events (ids, times, fields;
// only observer.instance names the process): run.mjs ingests the same traffic a second time into the
// store and answers the same questions over the file this writes.
// Memory stays flat: the auditor is flushed every FLUSH_EVERY events (its queue holds 10,000).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { createAuditor } from '@authtrail/core';

export const USERS = 10_000;
export const CLIENTS = 50;
export const END = Date.parse('2026-12-01T00:00:00Z');
const FLUSH_EVERY = 4096;

/** mulberry32: a small seeded PRNG (the same seed gives the same traffic on every machine). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r, n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += ((r() * 16) | 0).toString(16);
  return s;
};
/** Popular users are far busier than most (a power law), like real sign-in traffic. */
export const userOf = (x) => `user-${Math.min(USERS - 1, Math.floor(USERS * x ** 1.6))}`;
const UA = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'okhttp/4.12.0',
];
const API = [
  '/api/orders',
  '/api/orders/:id',
  '/api/profile',
  '/api/invoices',
  '/api/search',
  '/api/cart',
];
const FAIL = [
  'invalid_credentials',
  'invalid_credentials',
  'mfa_failed',
  'idp_error',
  'state_mismatch',
];
const SCOPE = ['openid', 'profile', 'orders:read'];

/**
 * The traffic as a sequence of [timeMs, manual event] pairs, in time order within each session.
 * Sessions sit on a uniform grid over the range (~14 events each), so every day is equally dense.
 */
function* traffic(total, days, seed) {
  const r = rng(seed);
  const start = END - days * 86_400_000;
  const sessions = Math.ceil(total / 14);
  const step = (END - start - 3_600_000) / sessions;
  let made = 0;
  const http = (method, route, status) => ({
    request_id: hex(r, 16),
    method,
    route,
    status,
    path: route.replace(':id', String((r() * 9999) | 0)).replace(':uid', hex(r, 8)),
    duration_ms: Math.round(r() * 400) / 10,
  });
  const fp = () => hex(r, 22); // the shape of core's keyed token fingerprint (22 base64url chars)
  for (let s = 0; s < sessions && made < total; s++) {
    let t = Math.floor(start + s * step);
    const out = [];
    const attack = r();
    if (attack < 0.0012 || attack > 0.9988) {
      // A spray (one IP, many users) or a brute force (one user, many tries): all failures.
      const spray = attack < 0.0012;
      const ip = `203.0.113.${(r() * 250) | 0}`;
      const target = userOf(r());
      const n = 40 + ((r() * 60) | 0);
      for (let i = 0; i < n; i++) {
        t += 50 + ((r() * 200) | 0);
        out.push([
          t,
          {
            type: 'authn.login.failure',
            reason: 'invalid_credentials',
            observer: { role: 'rp' },
            user: { id: spray ? userOf(r()) : target },
            client: { id: 'client-0' },
            flow: { id: fp() },
            http: http('GET', '/callback', 401),
            source: { ip, user_agent: 'python-requests/2.32' },
          },
        ]);
      }
    } else {
      const user = { id: userOf(r()) };
      const client = { id: `client-${(r() * CLIENTS) | 0}` };
      const source = {
        ip: `10.${(r() * 255) | 0}.${(r() * 255) | 0}.${(r() * 255) | 0}`,
        user_agent: UA[(r() * UA.length) | 0],
      };
      const flow = { id: fp() };
      const session = { id: hex(r, 32) };
      const trace = () => ({ id: hex(r, 32), span_id: hex(r, 16) });
      const base = (role, type, method, route, status) => ({
        type,
        observer: { role },
        user,
        client,
        flow,
        source,
        trace: trace(),
        http: http(method, route, status),
      });
      out.push([t, base('rp', 'authn.login_start.success', 'GET', '/login', 302)]);
      out.push([(t += 80), base('op', 'oauth.authorize.success', 'GET', '/auth', 303)]);
      let tries = 0;
      while (r() < 0.15 && tries < 3) {
        tries++;
        t += 4000 + ((r() * 8000) | 0);
        out.push([
          t,
          {
            ...base('rp', 'authn.login.failure', 'GET', '/callback', 401),
            reason: FAIL[(r() * FAIL.length) | 0],
          },
        ]);
      }
      const gaveUp = tries === 3 && r() < 0.5;
      if (!gaveUp) {
        if (r() < 0.1)
          out.push([
            (t += 2000),
            base('op', 'oauth.consent_grant.success', 'POST', '/interaction/:uid/confirm', 303),
          ]);
        t += 3000 + ((r() * 5000) | 0);
        const access = fp();
        const refresh = fp();
        out.push([
          t,
          {
            ...base('op', 'oauth.token_issue.success', 'POST', '/token', 200),
            oauth: {
              issuer: 'https://idp.example.com',
              scope: SCOPE,
              token: { type: 'access_token', fingerprint: access, verified: true, alg: 'RS256' },
            },
          },
        ]);
        out.push([
          (t += 30),
          { ...base('rp', 'authn.login.success', 'GET', '/callback', 302), session },
        ]);
        const calls = 4 + ((r() * 16) | 0);
        let token = access;
        for (let i = 0; i < calls; i++) {
          t += 500 + ((r() * 20_000) | 0);
          const denied = r() < 0.03;
          const e = base(
            'rs',
            denied ? 'api.authz.failure' : 'api.access.success',
            r() < 0.8 ? 'GET' : 'POST',
            API[(r() * API.length) | 0],
            denied ? 403 : 200,
          );
          delete e.flow; // an API call knows the token, not the sign-in flow
          e.oauth = {
            issuer: 'https://idp.example.com',
            scope: SCOPE,
            presented: { type: 'access_token', fingerprint: token, verified: true, alg: 'RS256' },
          };
          if (denied) e.reason = 'insufficient_scope';
          out.push([t, e]);
          if (i === calls >> 1 && r() < 0.5) {
            token = fp();
            out.push([
              (t += 100),
              {
                ...base('op', 'oauth.token_refresh.success', 'POST', '/token', 200),
                oauth: {
                  issuer: 'https://idp.example.com',
                  scope: SCOPE,
                  token: { type: 'access_token', fingerprint: token, verified: true, alg: 'RS256' },
                  presented: { type: 'refresh_token', fingerprint: refresh, verified: true },
                },
              },
            ]);
          }
        }
        const end = r();
        if (end < 0.6)
          out.push([
            t + 10_000,
            { ...base('rp', 'authn.logout.success', 'GET', '/logout', 302), session },
          ]);
        else if (end < 0.65)
          out.push([
            t + 10_000,
            {
              ...base('op', 'oauth.token_revoke.success', 'POST', '/token/revocation', 200),
              oauth: {
                issuer: 'https://idp.example.com',
                presented: { type: 'refresh_token', fingerprint: refresh, verified: true },
              },
            },
          ]);
      }
    }
    for (const pair of out) {
      if (made++ === total) return;
      yield pair;
    }
  }
}

/**
 * Records `events` events through a real auditor writing to `sinks`, flushing every FLUSH_EVERY
 * events so that the auditor's queue never drops one. Resolves to the auditor's stats after close.
 */
export async function generate({ events, days = 30, seed = 42, sinks, delivery, yieldEvery = 0 }) {
  let now = 0;
  const ids = rng(seed ^ 0x5eed);
  const auditor = createAuditor({
    sinks,
    delivery,
    service: 'bench',
    // A fixed key: no warning, and the same fingerprints on every run (no token is hashed here anyway).
    keys: { fingerprint: 'authtrail-bench-store-fingerprint-key' },
    clock: () => now,
    // A UUIDv7 of the event's time with seeded random bits: time-ordered, and the same every run.
    ids: (ms) => {
      const h = ms.toString(16).padStart(12, '0');
      return `${h.slice(0, 8)}-${h.slice(8)}-7${hex(ids, 3)}-${'89ab'[(ids() * 4) | 0]}${hex(ids, 3)}-${hex(ids, 12)}`;
    },
  });
  let n = 0;
  for (const [time, event] of traffic(events, days, seed)) {
    now = time;
    auditor.record(event);
    if (++n % FLUSH_EVERY === 0) await auditor.flush();
    // As an app's requests do: let delivery run between events, so that a batch is sent while the
    // next ones are made, instead of every batch waiting for the flush.
    else if (yieldEvery > 0 && n % yieldEvery === 0) await setImmediate();
  }
  await auditor.close();
  return auditor.stats();
}

/** A sink that appends native JSON lines to `path`, waiting for the stream to drain. */
export function jsonLinesSink(path) {
  const out = createWriteStream(path);
  return {
    name: 'jsonl',
    async write(batch) {
      let text = '';
      for (const e of batch.events) text += `${JSON.stringify(e)}\n`;
      if (!out.write(text)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'finish');
    },
  };
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
if (import.meta.url === `file://${process.argv[1]}`) {
  const events = Number(arg('events', 1_000_000));
  const out = arg('out', '/tmp/authtrail-events.jsonl');
  const t0 = performance.now();
  const stats = await generate({
    events,
    days: Number(arg('days', 30)),
    seed: Number(arg('seed', 42)),
    sinks: [jsonLinesSink(out)],
  });
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${events} events to ${out} in ${s.toFixed(1)} s (${Math.round(events / s)}/s); stats ${JSON.stringify(stats)}`,
  );
}
