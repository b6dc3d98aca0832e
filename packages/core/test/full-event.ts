import type { AuditEvent } from '@authtrail/schema';

/** A detection with every field known: ten failures in a row within 15 minutes. */
export const FULL_DETECTION: NonNullable<AuditEvent['detection']> = {
  detector: 'brute_force',
  key: 'Zm9vYmFyLWtleWVkLWhhc2g',
  severity: 'high',
  count: 10,
  threshold: 10,
  window_s: 900,
  first: '01938f5e-6b00-7000-8000-0000000000a1',
  last: '01938f5e-79f0-7000-8000-0000000000aa',
  first_time: '2025-01-02T02:59:31.004Z',
};

/**
 * Every known type with every field known: what a busy provider or API would log. `role` is the
 * observer's (a provider's by default).
 */
export function fullEvent(type: string, role: AuditEvent['observer']['role'] = 'op'): AuditEvent {
  const outcome = type.slice(type.lastIndexOf('.') + 1) as AuditEvent['outcome'];
  return {
    schema: 1,
    id: '01938f5e-7a00-7000-8000-000000000001',
    time: '2025-01-02T03:04:05.678Z',
    type,
    outcome,
    observer: { role, service: 'idp', instance: 'host/1', adapter: 'koa' },
    reason:
      outcome === 'failure' ? 'token_expired' : outcome === 'detected' ? 'token_reused' : undefined,
    error: outcome === 'failure' ? { code: 'invalid_grant' } : undefined,
    user: { id: 'u-1', name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin'] },
    client: { id: 'web-app' },
    oauth: {
      issuer: 'https://op.example',
      scope: ['openid', 'profile'],
      audience: ['https://api.example'],
      grant_type: 'authorization_code',
      token: {
        type: 'access_token',
        fingerprint: 'fp-abc123',
        expires_at: '2025-01-02T04:04:05.000Z',
        verified: true,
        alg: 'RS256',
        active: true,
      },
      presented: { type: 'refresh_token', fingerprint: 'fp-rt-456', verified: false },
    },
    session: { id: 'sess-hash' },
    flow: { id: 'flow-hash' },
    http: {
      request_id: 'req-1',
      method: 'POST',
      route: '/token',
      path: '/token',
      query: 'error=access_denied',
      status: outcome === 'failure' ? 400 : 200,
      duration_ms: 12.345,
    },
    source: { ip: '203.0.113.7', forwarded: ['198.51.100.1'], user_agent: 'curl/8' },
    trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
    detection: outcome === 'detected' ? FULL_DETECTION : undefined,
    lockout: type.startsWith('authn.lockout')
      ? { key: 'Q1mR8vB2kT0zLx4nWc7yEg', until: '2025-01-02T03:19:05.678Z', lockout_s: 900 }
      : undefined,
    seq: 7,
    chain: { id: 'c1', prev: 'p', hash: 'h' },
  };
}
