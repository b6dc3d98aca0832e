import { EventTypes, toEcs, toOcsf, type AuditEvent } from '@authtrail/schema';
import { ecsProblems, ocsfProblems } from './formats-schemas.js';
import { FULL_DETECTION, fullEvent } from './full-event.js';

type Json = Record<string, unknown>;

const ALL_TYPES: string[] = Object.values(EventTypes);

/** An event of `type` as the auditor would build it, with the fields its kind carries. */
function event(type: string, over: Partial<AuditEvent> = {}): AuditEvent {
  const [category] = type.split('.');
  const full = fullEvent(type, category === 'api' ? 'rs' : 'op');
  if (category !== 'audit') return { ...full, ...over };
  const { schema, id, time, outcome, observer } = full;
  return { schema, id, time, type, outcome, observer, ...over };
}

const http = (method: string, status = 200): NonNullable<AuditEvent['http']> => ({
  method,
  route: '/api/items/:id',
  path: '/api/items/:id',
  status,
  duration_ms: 3.2,
});

/** Every taxonomy entry in the field combinations real flows give. */
const renderings: [string, AuditEvent][] = ALL_TYPES.flatMap((type) => {
  const rows: [string, AuditEvent][] = [
    [`${type}, everything known`, event(type)],
    [
      `${type}, nothing but the required fields`,
      {
        schema: 1,
        id: '01938f5e-7a00-7000-8000-000000000002',
        time: '2025-01-02T03:04:05.678Z',
        type,
        outcome: event(type).outcome,
        observer: { role: 'rs', service: 'api', instance: 'h/2', adapter: 'express' },
      },
    ],
  ];
  if (type.startsWith('audit.')) return rows;
  rows.push(
    [`${type}, user known by id only`, event(type, { user: { id: 'u-2' } })],
    [`${type}, user known by e-mail only`, event(type, { user: { email: 'bob@example.com' } })],
    [`${type}, user known by name only`, event(type, { user: { name: 'Bob' } })],
    [`${type}, user pseudonymised`, event(type, { user: { hash: 'h-9' } })],
    [`${type}, no user, a client`, event(type, { user: undefined })],
    [`${type}, no user, no client`, event(type, { user: undefined, client: undefined })],
  );
  return rows;
});

for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'])
  for (const type of ['api.access.success', 'api.authn.failure', 'api.authz.failure'])
    renderings.push([
      `${type} over ${method}`,
      event(type, { http: http(method, type.endsWith('success') ? 200 : 401) }),
    ]);
renderings.push(
  [
    'api.access.failure with a server error',
    event('api.access.failure', { reason: 'server_error', http: http('GET', 500) }),
  ],
  ['a manual api.* event without a request', event('api.access.success', { http: undefined })],
  [
    'authn.login.success over PATCH',
    event('authn.login.success', { http: { ...http('PATCH'), path: '/cb' } }),
  ],
  [
    'authn.login.failure over an unknown method',
    event('authn.login.failure', { http: { ...http('PROPFIND', 400), path: '/cb' } }),
  ],
  [
    'audit.delivery.failure, events dropped',
    event('audit.delivery.failure', {
      reason: 'events_dropped',
      delivery: { sink: 'http', dropped: 42 },
    }),
  ],
  [
    'audit.delivery.failure, spill unreadable',
    event('audit.delivery.failure', {
      reason: 'spill_unreadable',
      delivery: { sink: 'file', dropped: 0, quarantined: 3, quarantine_file: '/var/q.jsonl' },
    }),
  ],
  [
    'audit.retention.success, a day partition dropped',
    event('audit.retention.success', {
      retention: {
        days: 400,
        partition: 'authtrail_events_20250101',
        day: '2025-01-01',
        rows: 5120,
        first: '2025-01-01T00:00:00.012Z',
        last: '2025-01-01T23:59:58.901Z',
        chains: [{ id: 'c1', seq: 5120, hash: 'h' }],
      },
    }),
  ],
  [
    'audit.retention.failure, the store unavailable',
    event('audit.retention.failure', {
      reason: 'store_unavailable',
      error: { code: 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' },
      retention: { days: 400 },
    }),
  ],
  [
    'audit.access.success, a console search',
    event('audit.access.success', {
      user: { id: 'admin', roles: ['admin'] },
      access: {
        view: 'search',
        query: 'outcome:failure token:[redacted]',
        from: '2025-01-01T00:00:00.000Z',
        to: '2025-01-02T00:00:00.000Z',
        results: 50,
      },
      http: { ...http('GET'), route: undefined, path: '/audit/api/search' },
      source: { ip: '127.0.0.1', user_agent: 'Mozilla/5.0' },
    }),
  ],
  [
    'audit.access.failure, a console call without a session',
    event('audit.access.failure', {
      reason: 'session_missing',
      access: { view: 'overview' },
      http: { ...http('GET', 401), route: undefined, path: '/audit/api/overview' },
    }),
  ],
  [
    'audit.heartbeat.success, every interval',
    event('audit.heartbeat.success', {
      seq: 40,
      heartbeat: { interval_s: 60, n: 7, events: 1234, dropped: 0 },
    }),
  ],
  [
    'audit.heartbeat.success at close',
    event('audit.heartbeat.success', {
      reason: 'close',
      heartbeat: { interval_s: 60, n: 8, events: 12, dropped: 3 },
    }),
  ],
  [
    'audit.silence.detected, an instance whose heartbeats stopped',
    event('audit.silence.detected', {
      detection: {
        detector: 'silent_pipeline',
        key: 'Zm9vYmFyLWtleWVkLWhhc2g',
        severity: 'high',
        count: 3,
        threshold: 3,
        window_s: 180,
        first: '01938f5e-6b00-7000-8000-0000000000a1',
        last: '01938f5e-6b00-7000-8000-0000000000a1',
        first_time: '2025-01-02T02:59:31.004Z',
      },
    }),
  ],
  [
    'audit.checkpoint.success at a rotation',
    event('audit.checkpoint.success', {
      reason: 'rotation',
      seq: 12,
      chain: { id: 'c1', prev: 'p', hash: 'h', anchor: true, kid: 'k1' },
    }),
  ],
  [
    'audit.checkpoint.success closing a sealed chain',
    event('audit.checkpoint.success', {
      reason: 'close',
      seq: 13,
      chain: { id: 'c1', prev: 'p', hash: 'h', kid: 'k1', epoch: 2, seal: 's' },
    }),
  ],
  [
    'a custom category',
    event('billing.invoice_export.success', { user: { id: 'u-3' }, http: http('POST') }),
  ],
  ['a detection on api traffic', event('api.token_replay.detected', { http: http('GET', 401) })],
  [
    'an IPv6 client behind proxies',
    event('authn.login.success', {
      source: { ip: '::ffff:10.0.0.7', forwarded: ['2001:db8::1', '10.0.0.1'], user_agent: 'x' },
    }),
  ],
  [
    "addresses that are not IPs (a proxy's client address, X-Forwarded-For entries)",
    event('api.authn.failure', {
      http: http('GET', 401),
      source: { ip: 'unknown', forwarded: ['unknown', '203.0.113.9:443'], user_agent: '<x>' },
    }),
  ],
  [
    "e-mail addresses outside OCSF's email_t, with an id",
    event('authn.login.success', { user: { id: 'u-4', email: 'ops@localhost' } }),
  ],
  [
    'an internationalised e-mail address as the only identity',
    event('authn.login.failure', { user: { email: 'ünï@exämple.com' } }),
  ],
);

// Every detection type (and one of your own) at every severity, and a detection with nothing but
// its required fields, fired by a single event.
for (const type of [...ALL_TYPES.filter((t) => t.endsWith('.detected')), 'billing.abuse.detected'])
  for (const severity of ['low', 'medium', 'high', 'critical'] as const)
    renderings.push([
      `${type}, a ${severity} detection`,
      event(type, { detection: { ...FULL_DETECTION, severity } }),
    ]);
renderings.push([
  'a detection with its required fields only, one event its whole evidence',
  event('api.invalid_signature.detected', {
    detection: {
      detector: 'invalid_signature_burst',
      key: 'c29tZS1pcC1oYXNoLTEyMw',
      severity: 'medium',
      count: 1,
      threshold: 1,
      first: FULL_DETECTION.last,
      last: FULL_DETECTION.last,
    },
  }),
]);

describe('ECS and OCSF renderings against the official schemas', () => {
  test.each(renderings)('%s is valid OCSF 1.3.0', (_name, e) => {
    expect(ocsfProblems(toOcsf(e) as unknown as Json)).toEqual([]);
  });

  test.each(renderings)('%s is valid ECS 8.11', (_name, e) => {
    expect(ecsProblems(toEcs(e) as unknown as Json)).toEqual([]);
  });

  test('covers every taxonomy entry', () => {
    const covered = new Set(renderings.map(([, e]) => e.type));
    expect(ALL_TYPES.filter((t) => !covered.has(t))).toEqual([]);
  });
});

describe('the schema checkers', () => {
  const valid = (type: string) => toOcsf(event(type)) as unknown as Json;

  test('accept a rendering only while it follows OCSF 1.3.0, naming what breaks it', () => {
    const login = valid('authn.login.success');
    const token = valid('oauth.token_issue.success');
    expect(ocsfProblems(login)).toEqual([]);
    expect(ocsfProblems({ ...login, http_response: { code: 200 } })).toEqual([
      'http_response is not an attribute of authentication',
    ]);
    expect(
      ocsfProblems({ ...login, http_request: { http_method: 'PATCH', url: { path: '/cb' } } }),
    ).toEqual(['http_request.http_method "PATCH" is not in the enum']);
    expect(ocsfProblems({ ...login, user: { email_addr: 'bob@example.com', type_id: 1 } })).toEqual(
      ['user: needs one of account, name, uid'],
    );
    expect(ocsfProblems({ ...token, type_name: 'Authentication: Token Issue' })).toEqual([
      'type_name "Authentication: Token Issue" is not "Authentication: Other"',
    ]);
    expect(ocsfProblems({ ...login, activity_name: 'Token Issue' })).toEqual([
      'activity_name "Token Issue" is not "Logon"',
    ]);
    expect(ocsfProblems({ ...login, severity_id: 7 })).toEqual([
      'severity_id 7 is not in the enum',
    ]);
    const noUser = Object.fromEntries(Object.entries(login).filter(([k]) => k !== 'user'));
    expect(ocsfProblems(noUser)).toEqual(['authentication: missing required user']);
    expect(ocsfProblems({ ...login, time: '2025-01-02' })).toEqual(['time is not a timestamp_t']);
    expect(ocsfProblems({ ...login, src_endpoint: { ip: 'not-an-ip' } })).toEqual([
      'src_endpoint.ip does not match ip_t',
    ]);
    expect(
      ocsfProblems({ ...login, class_uid: 6004, class_name: 'Web Resource Access Activity' }),
    ).toContain('class Web Resource Access Activity is deprecated');
    const api = valid('api.access.success');
    const metadata = { ...(api.metadata as Json) };
    delete metadata.profiles;
    expect(ocsfProblems({ ...api, metadata })).toEqual([
      'action_id belongs to profile security_control not in metadata.profiles',
      'action belongs to profile security_control not in metadata.profiles',
      'disposition_id belongs to profile security_control not in metadata.profiles',
      'disposition belongs to profile security_control not in metadata.profiles',
    ]);
  });

  test('accept an ECS document only while its fields are ECS 8.11 fields of the right type or under authtrail.*', () => {
    const doc = toEcs(event('oauth.token_issue.success')) as unknown as Json;
    expect(ecsProblems(doc)).toEqual([]);
    expect(ecsProblems({ ...doc, oauth: { client: { id: 'c' } } })).toEqual([
      'oauth.client.id is neither an ECS 8.11 field nor under authtrail.*',
    ]);
    expect(ecsProblems({ ...doc, source: { ip: 'nowhere' } })).toEqual(['source.ip is not a ip']);
    expect(ecsProblems({ ...doc, user: { id: ['u-1'] } })).toEqual([
      'user.id must not be an array',
    ]);
    const ev = doc.event as Json;
    expect(ecsProblems({ ...doc, event: { ...ev, category: ['web'], type: ['start'] } })).toEqual([
      'no event.type expected for web',
      'event.type start is expected by none of web',
    ]);
    expect(ecsProblems({ ...doc, event: { ...ev, kind: 'incident' } })).toEqual([
      'event.kind "incident" is not allowed',
    ]);
  });
});
