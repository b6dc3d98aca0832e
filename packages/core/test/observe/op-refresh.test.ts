import { createHmac } from 'node:crypto';
import type { AuditEvent, RequestFacts } from '@authtrail/core';
// The provider's event builder is internal: tested from source. (The whole event builder is not:
// it loads jose, which jest's loader cannot require on Node 20.)
import { observers } from '../../src/event.js';
import { createOpEvents } from '../../src/observe/op.js';
import { resolveOptions } from '../../src/options.js';

const KEY = 'op-refresh-unit-test-fingerprint-key-5f1e';
const fingerprint = (value: string) =>
  createHmac('sha256', KEY).update(value).digest().subarray(0, 16).toString('base64url');
const REFRESH_TOKEN = 'rt-rotated-by-the-provider-0123456789abcdefghijkl';

function provider() {
  const o = resolveOptions({ routes: 'oidc-provider', keys: { fingerprint: KEY } });
  const events: AuditEvent[] = [];
  const build = createOpEvents(o, observers(o).op, fingerprint);
  return { events, see: (f: RequestFacts) => build(f, (e) => events.push(e)) };
}

/**
 * A refresh grant at oidc-provider's token endpoint, as its `ctx.oidc` shows it: `rotated`, a
 * success that consumed the token presented; `consumed`, a failure on a token the provider still
 * holds, consumed; `forgotten`, a failure on a token it does not know (another instance, or gone).
 */
function refreshGrant(kind: 'rotated' | 'kept' | 'consumed' | 'forgotten'): RequestFacts {
  const ok = kind === 'rotated' || kind === 'kept';
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
      entities:
        kind === 'rotated'
          ? { RefreshToken: { accountId: 'alice' }, RotatedRefreshToken: {} }
          : kind === 'kept'
            ? { RefreshToken: { accountId: 'alice' } }
            : kind === 'consumed'
              ? { RefreshToken: { accountId: 'alice', consumed: true } }
              : {},
    },
  };
}

describe("the provider's refresh events (reuse is the detectors' decision)", () => {
  test('a refresh that rotated the token names it in oauth.presented; one that kept it does not', () => {
    const op = provider();
    op.see(refreshGrant('rotated'));
    op.see(refreshGrant('kept'));
    expect(op.events.map((e) => e.oauth?.presented)).toEqual([
      { type: 'refresh_token', fingerprint: fingerprint(REFRESH_TOKEN), verified: true },
      undefined,
    ]);
    expect(op.events[0]!.oauth?.token?.fingerprint).toBe(fingerprint('at-new'));
  });

  test('a consumed token presented again is one failure with reason token_reused, and no detection of its own', () => {
    const op = provider();
    op.see(refreshGrant('consumed'));
    op.see(refreshGrant('forgotten'));
    expect(op.events.map((e) => [e.type, e.reason, e.error?.code])).toEqual([
      ['oauth.token_refresh.failure', 'token_reused', 'invalid_grant'],
      ['oauth.token_refresh.failure', 'invalid_grant', 'invalid_grant'],
    ]);
    expect(op.events.map((e) => e.oauth?.token)).toEqual([
      { type: 'refresh_token', fingerprint: fingerprint(REFRESH_TOKEN), verified: true },
      { type: 'refresh_token', fingerprint: fingerprint(REFRESH_TOKEN), verified: false },
    ]);
    expect(op.events[0]!.user?.id).toBe('alice');
  });

  test('no event carries the refresh token itself', () => {
    const op = provider();
    for (const kind of ['rotated', 'kept', 'consumed', 'forgotten'] as const)
      op.see(refreshGrant(kind));
    expect(JSON.stringify(op.events)).not.toContain(REFRESH_TOKEN);
    expect(JSON.stringify(op.events)).not.toContain('rt-next');
  });
});
