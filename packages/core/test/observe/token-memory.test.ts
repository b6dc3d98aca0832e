import { createHmac } from 'node:crypto';
import type { AuditEvent, RequestFacts } from '@authtrail/core';
// The provider's event builder and its token memory are internal: tested from source. (The whole
// event builder is not: it loads jose, which jest's loader cannot require on Node 20.)
import { observers } from '../../src/event.js';
import { createOpEvents } from '../../src/observe/op.js';
import { processTokenMemory, type TokenMemory } from '../../src/observe/token-memory.js';
import { resolveOptions } from '../../src/options.js';

const KEY = 'token-memory-unit-test-fingerprint-key-5f1e';
const fingerprint = (value: string) =>
  createHmac('sha256', KEY).update(value).digest().subarray(0, 16).toString('base64url');
const REFRESH_TOKEN = 'rt-rotated-by-instance-a-0123456789abcdefghijkl';

/** One provider instance: its own event builder, and the memory it is given. */
function instance(memory: TokenMemory) {
  const o = resolveOptions({ routes: 'oidc-provider', keys: { fingerprint: KEY } });
  const events: AuditEvent[] = [];
  const pending: Promise<void>[] = [];
  const build = createOpEvents(o, observers(o).op, fingerprint, memory, (p) => pending.push(p));
  return {
    events,
    see(f: RequestFacts) {
      build(f, (e) => events.push(e));
    },
    settled: () => Promise.all(pending),
  };
}

/** A refresh grant at oidc-provider's token endpoint, as its `ctx.oidc` shows it. */
function refreshGrant(ok: boolean): RequestFacts {
  return {
    startTime: Date.now(),
    durationMs: 3,
    method: 'POST',
    url: '/token',
    status: ok ? 200 : 400,
    headers: {},
    responseBody: ok
      ? { access_token: 'at-new', expires_in: 3600, refresh_token: 'rt-next' }
      : { error: 'invalid_grant' },
    oidc: {
      route: 'token',
      client: { clientId: 'cli' },
      params: { grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN },
      // A rotation: the provider consumed the presented token and issued another. On the replay
      // it no longer finds the token at all (another instance, or it expired from its store).
      entities: ok ? { RefreshToken: { accountId: 'alice' }, RotatedRefreshToken: {} } : {},
    },
  };
}

/** The memory a shared store gives (Redis, issue 17): every answer a promise. */
function asyncMemory(): TokenMemory {
  const retired = new Set<string>();
  return {
    retire: async (fp) => void retired.add(fp),
    isRetired: async (fp) => retired.has(fp),
  };
}

describe("the provider's memory of retired refresh tokens", () => {
  test('a replay on the instance that rotated the token is oauth.token_reuse.detected', () => {
    const a = instance(processTokenMemory());
    a.see(refreshGrant(true));
    a.see(refreshGrant(false));
    expect(a.events.map((e) => [e.type, e.reason])).toEqual([
      ['oauth.token_refresh.success', undefined],
      ['oauth.token_reuse.detected', 'token_reused'],
      ['oauth.token_refresh.failure', 'invalid_grant'],
    ]);
    expect(a.events[1]!.oauth?.token).toEqual({
      type: 'refresh_token',
      fingerprint: fingerprint(REFRESH_TOKEN),
      verified: true,
    });
  });

  test('with a memory per process, a replay on another instance is only a failed refresh', () => {
    const a = instance(processTokenMemory());
    const b = instance(processTokenMemory());
    a.see(refreshGrant(true));
    b.see(refreshGrant(false));
    expect(b.events.map((e) => e.type)).toEqual(['oauth.token_refresh.failure']);
  });

  test('with one memory shared by both instances, the replay on the other is reuse', () => {
    const shared = processTokenMemory();
    const a = instance(shared);
    const b = instance(shared);
    a.see(refreshGrant(true));
    b.see(refreshGrant(false));
    expect(b.events.map((e) => e.type)).toEqual([
      'oauth.token_reuse.detected',
      'oauth.token_refresh.failure',
    ]);
  });

  test('a memory that answers later delays the failure events, in order, until it answered', async () => {
    const shared = asyncMemory();
    const a = instance(shared);
    const b = instance(shared);
    a.see(refreshGrant(true));
    await a.settled();
    b.see(refreshGrant(false));
    expect(b.events).toEqual([]); // nothing before the memory answered
    await b.settled();
    expect(b.events.map((e) => e.type)).toEqual([
      'oauth.token_reuse.detected',
      'oauth.token_refresh.failure',
    ]);
  });

  test('the memory holds fingerprints only, never the refresh token', () => {
    const seen: string[] = [];
    const recording: TokenMemory = {
      retire: (fp) => void seen.push(fp),
      isRetired: (fp) => (seen.push(fp), false),
    };
    const a = instance(recording);
    a.see(refreshGrant(true));
    a.see(refreshGrant(false));
    expect(seen).toEqual([fingerprint(REFRESH_TOKEN), fingerprint(REFRESH_TOKEN)]);
    expect(JSON.stringify([seen, a.events])).not.toContain(REFRESH_TOKEN);
  });

  test('the default memory forgets its oldest fingerprint once full', () => {
    const memory = processTokenMemory(2);
    memory.retire('f1');
    memory.retire('f2');
    memory.retire('f3');
    expect(['f1', 'f2', 'f3'].map((f) => memory.isRetired(f))).toEqual([false, true, true]);
  });
});
