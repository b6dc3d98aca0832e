import { PassThrough } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventTypes,
  callbackSink,
  createAuditor,
  fileSink,
  formatEvent,
  memorySink,
  stdoutSink,
  toEcs,
  toOcsf,
  type AuditEvent,
  type Batch,
  type EventFormat,
  type Sink,
} from '@authtrail/core';
// The official OCSF 1.3.0 and ECS 8.11 definitions, read from ../shared/schemas/.
import { ecsProblems, ocsfProblems } from './formats-schemas.js';
import { FULL_DETECTION, fullEvent } from './full-event.js';

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
type Json = Record<string, unknown>;

/** The same type as the factory leaves it when little is known: every optional field undefined. */
function sparseEvent(type: string): AuditEvent {
  const e = fullEvent(type);
  const kept = ['schema', 'id', 'time', 'type', 'outcome', 'observer'];
  for (const key of Object.keys(e))
    if (!kept.includes(key)) (e as unknown as Json)[key] = undefined;
  return e;
}

const ALL_TYPES: string[] = Object.values(EventTypes);
const variants = ALL_TYPES.flatMap((type) => [
  [type, 'full', fullEvent(type)] as const,
  [type, 'sparse', sparseEvent(type)] as const,
]);

function undefinedPaths(value: unknown, path = '$'): string[] {
  if (value === undefined) return [path];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => undefinedPaths(v, `${path}.${k}`));
}

describe('formatEvent / toEcs / toOcsf', () => {
  test.each(variants)('%s (%s) maps to valid OCSF 1.3.0', (_type, _kind, event) => {
    const doc = toOcsf(event) as unknown as Json;
    expect(ocsfProblems(doc)).toEqual([]);
    expect(undefinedPaths(doc)).toEqual([]);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  test.each(variants)('%s (%s) maps to a valid ECS document', (_type, _kind, event) => {
    const doc = toEcs(event) as unknown as Json;
    expect(ecsProblems(doc)).toEqual([]);
    expect(undefinedPaths(doc)).toEqual([]);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  test.each(variants)(
    '%s (%s) keeps its native shape without undefined keys',
    (_type, _kind, event) => {
      const native = formatEvent(event, 'native');
      expect(undefinedPaths(native)).toEqual([]);
      expect(native).toEqual(JSON.parse(JSON.stringify(event)));
      expect(native).not.toBe(event);
    },
  );

  test('classifies each taxonomy entry into the OCSF class and activity its meaning calls for', () => {
    const row = (type: string) => {
      const o = toOcsf(fullEvent(type));
      return [o.class_uid, o.activity_id, o.activity_name];
    };
    expect(Object.fromEntries(ALL_TYPES.map((t) => [t, row(t)]))).toEqual({
      'authn.login_start.success': [3002, 99, 'Login Start'],
      'authn.login_start.failure': [3002, 99, 'Login Start'],
      'authn.login.success': [3002, 1, 'Logon'],
      'authn.login.failure': [3002, 1, 'Logon'],
      'authn.logout.success': [3002, 2, 'Logoff'],
      'authn.logout.failure': [3002, 2, 'Logoff'],
      'authn.session.failure': [3002, 99, 'Session'], // an RP's own page refused a browser
      'oauth.authorize.success': [3002, 99, 'Authorize'],
      'oauth.authorize.failure': [3002, 99, 'Authorize'],
      'oauth.consent_grant.success': [3002, 99, 'Consent Grant'],
      'oauth.consent_grant.failure': [3002, 99, 'Consent Grant'],
      'oauth.consent_revoke.success': [3002, 99, 'Consent Revoke'],
      'oauth.consent_revoke.failure': [3002, 99, 'Consent Revoke'],
      'oauth.token_issue.success': [3002, 99, 'Token Issue'],
      'oauth.token_issue.failure': [3002, 99, 'Token Issue'],
      'oauth.token_refresh.success': [3002, 99, 'Token Refresh'],
      'oauth.token_refresh.failure': [3002, 99, 'Token Refresh'],
      'oauth.token_reuse.detected': [2004, 1, 'Create'],
      'oauth.token_replay.detected': [2004, 1, 'Create'],
      'oauth.token_revoke.success': [3002, 99, 'Token Revoke'],
      'oauth.token_revoke.failure': [3002, 99, 'Token Revoke'],
      'oauth.token_introspect.success': [3002, 99, 'Token Introspect'],
      'oauth.token_introspect.failure': [3002, 99, 'Token Introspect'],
      'oauth.userinfo.success': [3002, 99, 'Userinfo'],
      'oauth.userinfo.failure': [3002, 99, 'Userinfo'],
      // Web Resources Activity, the activity from the method (the full event's is POST).
      'api.access.success': [6001, 1, 'Create'],
      'api.authn.failure': [6001, 1, 'Create'],
      'api.authz.failure': [6001, 1, 'Create'],
      'authn.bruteforce.detected': [2004, 1, 'Create'],
      'authn.spray.detected': [2004, 1, 'Create'],
      'authn.credential_stuffing.detected': [2004, 1, 'Create'],
      'authn.bruteforce_success.detected': [2004, 1, 'Create'],
      // Enforcement's lock of an account for an IP, and its end: Account Change.
      'authn.lockout.success': [3001, 9, 'Lock'],
      'authn.lockout_end.success': [3001, 99, 'Lockout End'],
      'api.disallowed_alg.detected': [2004, 1, 'Create'],
      'api.invalid_signature.detected': [2004, 1, 'Create'],
      'audit.delivery.failure': [0, 99, 'Delivery'],
      'audit.silence.detected': [2004, 1, 'Create'],
      // Other entries added to the taxonomy later fall to Base Event until mapped on purpose.
      ...Object.fromEntries(
        ALL_TYPES.filter(
          (t) =>
            t.startsWith('audit.') && t !== 'audit.delivery.failure' && !t.endsWith('.detected'),
        ).map((t) => [t, [0, 99, expect.any(String)]]),
      ),
    });
  });

  test("carries a lockout's key, end and length: ECS under authtrail.lockout (an IAM change of the user), OCSF in unmapped.lockout of an Account Change", () => {
    const lock = fullEvent('authn.lockout.success');
    const ecs = toEcs(lock);
    expect(ecs.event).toMatchObject({ category: ['iam'], type: ['user', 'change'] });
    expect((ecs.authtrail as { lockout: unknown }).lockout).toEqual(lock.lockout);
    const ocsf = toOcsf(lock);
    expect(ocsf).toMatchObject({ class_uid: 3001, activity_id: 9, type_uid: 300109 });
    expect((ocsf.unmapped as { lockout: unknown }).lockout).toEqual(lock.lockout);
  });

  test('maps outcomes: success and failure keep their name in ECS and OCSF; detected is an ECS alert with outcome unknown and a new OCSF finding', () => {
    const ok = fullEvent('api.access.success');
    const bad = fullEvent('api.authn.failure');
    const alert = fullEvent('authn.bruteforce.detected');
    expect([toEcs(ok).event.outcome, toEcs(bad).event.outcome, toEcs(alert).event.outcome]).toEqual(
      ['success', 'failure', 'unknown'],
    );
    expect([toEcs(ok).event.kind, toEcs(alert).event.kind]).toEqual(['event', 'alert']);
    expect([toOcsf(ok).status, toOcsf(bad).status, toOcsf(alert).status]).toEqual([
      'Success',
      'Failure',
      'New',
    ]);
    expect(toOcsf(bad)).toMatchObject({
      status_detail: 'token_expired',
      status_code: 'invalid_grant',
    });
    expect(toEcs(bad)).toMatchObject({
      event: { reason: 'token_expired' },
      error: { code: 'invalid_grant' },
    });
    expect(toOcsf(fullEvent('api.authz.failure')).severity_id).toBeLessThan(
      toOcsf(alert).severity_id,
    );
  });

  test('maps a detection to ECS: rule.name is the detector, event.severity and event.risk_score the Elastic score of its severity, event.start its first evidence, threat the ATT&CK technique of its type, all of it under authtrail.detection', () => {
    const alert = fullEvent('authn.bruteforce.detected');
    expect(toEcs(alert)).toMatchObject({
      event: { kind: 'alert', severity: 73, risk_score: 73, start: '2025-01-02T02:59:31.004Z' },
      rule: { name: 'brute_force' },
      threat: {
        framework: 'MITRE ATT&CK',
        tactic: { id: ['TA0006'], name: ['Credential Access'] },
        technique: {
          id: ['T1110'],
          name: ['Brute Force'],
          reference: ['https://attack.mitre.org/techniques/T1110/'],
          subtechnique: {
            id: ['T1110.001'],
            name: ['Password Guessing'],
            reference: ['https://attack.mitre.org/techniques/T1110/001/'],
          },
        },
      },
      authtrail: { detection: FULL_DETECTION },
    });
    const graded = (severity: string) =>
      toEcs({ ...alert, detection: { ...FULL_DETECTION, severity } as AuditEvent['detection'] })
        .event;
    expect(['low', 'medium', 'high', 'critical'].map((s) => graded(s).severity)).toEqual([
      21, 47, 73, 99,
    ]);
    // An event read back from a file can hold anything: no number is made up for it.
    expect(graded('constructor')).not.toHaveProperty('severity');
    expect(graded('constructor')).not.toHaveProperty('risk_score');
    const replay = toEcs(fullEvent('oauth.token_replay.detected')).threat as Json;
    expect(replay).toMatchObject({
      tactic: { id: ['TA0005', 'TA0008'], name: ['Defense Evasion', 'Lateral Movement'] },
      technique: { id: ['T1550'], subtechnique: { id: ['T1550.001'] } },
    });
    // Your own detections and a silent pipeline name no technique; without a detection no rule.
    expect(toEcs(fullEvent('billing.refund_abuse.detected'))).not.toHaveProperty('threat');
    expect(toEcs(fullEvent('audit.silence.detected'))).not.toHaveProperty('threat');
    expect(toEcs({ ...alert, detection: undefined })).not.toHaveProperty('rule');
    expect(toEcs(fullEvent('authn.login.failure'))).not.toHaveProperty('threat');
  });

  test('maps a detection to an OCSF Detection Finding: its severity, detector as analytic, count, first evidence as start and first seen, evidence ids as related events, the ATT&CK technique, key and threshold unmapped', () => {
    const alert = fullEvent('authn.spray.detected');
    const firstMs = Date.parse('2025-01-02T02:59:31.004Z');
    expect(toOcsf(alert)).toMatchObject({
      class_uid: 2004,
      severity_id: 4,
      severity: 'High',
      count: 10,
      start_time: firstMs,
      finding_info: {
        uid: alert.id,
        title: 'Spray detected',
        types: ['authn.spray.detected'],
        analytic: { name: 'brute_force', type_id: 1, type: 'Rule' },
        first_seen_time: firstMs,
        last_seen_time: Date.parse(alert.time),
        related_events: [{ uid: FULL_DETECTION.first }, { uid: FULL_DETECTION.last }],
        attacks: [
          {
            tactic: { uid: 'TA0006', name: 'Credential Access' },
            technique: { uid: 'T1110', name: 'Brute Force' },
            sub_technique: { uid: 'T1110.003', name: 'Password Spraying' },
          },
        ],
      },
      unmapped: { detection: { key: FULL_DETECTION.key, threshold: 10, window_s: 900 } },
    });
    const graded = (severity: string) =>
      toOcsf({ ...alert, detection: { ...FULL_DETECTION, severity } as AuditEvent['detection'] });
    expect(
      ['low', 'medium', 'high', 'critical', 'constructor'].map((s) => [
        graded(s).severity_id,
        graded(s).severity,
      ]),
    ).toEqual([
      [2, 'Low'],
      [3, 'Medium'],
      [4, 'High'],
      [5, 'Critical'],
      [4, 'High'],
    ]);
    // One event that is both first and last is one related event.
    const single = { ...FULL_DETECTION, first: FULL_DETECTION.last, count: 1, threshold: 1 };
    const one = toOcsf({ ...alert, detection: single }).finding_info as Json;
    expect(one.related_events).toEqual([{ uid: FULL_DETECTION.last }]);
    // A detection recorded without the object (as the provider's token reuse was): the type
    // stands for the analytic, and nothing is made up.
    const bare = toOcsf({ ...fullEvent('oauth.token_reuse.detected'), detection: undefined });
    expect(bare).not.toHaveProperty('count');
    expect(bare.finding_info).toEqual({
      uid: alert.id,
      title: 'Token Reuse detected',
      desc: 'token_reused',
      types: ['oauth.token_reuse.detected'],
      analytic: { name: 'oauth.token_reuse.detected', type_id: 1, type: 'Rule' },
      attacks: [
        {
          tactic: { uid: 'TA0005', name: 'Defense Evasion' },
          technique: { uid: 'T1550', name: 'Use Alternate Authentication Material' },
          sub_technique: { uid: 'T1550.001', name: 'Application Access Token' },
        },
        {
          tactic: { uid: 'TA0008', name: 'Lateral Movement' },
          technique: { uid: 'T1550', name: 'Use Alternate Authentication Material' },
          sub_technique: { uid: 'T1550.001', name: 'Application Access Token' },
        },
      ],
      created_time: Date.parse(alert.time),
    });
  });

  test('maps the fields of a full event to their ECS names', () => {
    const doc = toEcs(fullEvent('oauth.token_issue.success'));
    expect(doc).toMatchObject({
      '@timestamp': '2025-01-02T03:04:05.678Z',
      event: {
        action: 'oauth.token_issue.success',
        duration: 12_345_000,
        dataset: 'authtrail.audit',
        category: ['authentication', 'iam'],
      },
      user: { id: 'u-1', full_name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin'] },
      source: { ip: '203.0.113.7' },
      user_agent: { original: 'curl/8' },
      http: { request: { id: 'req-1', method: 'POST' }, response: { status_code: 200 } },
      url: { path: '/token', query: 'error=access_denied' },
      service: { name: 'idp' },
      trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      span: { id: '00f067aa0ba902b7' },
      authtrail: {
        session: { id: 'sess-hash' },
        flow: { id: 'flow-hash' },
        oauth: {
          client: { id: 'web-app' },
          grant_type: 'authorization_code',
          token: { fingerprint: 'fp-abc123', verified: true, active: true },
          presented: { type: 'refresh_token', fingerprint: 'fp-rt-456', verified: false },
        },
      },
    });
  });

  test('maps the fields of a full event to OCSF attributes, and what the class lacks to unmapped', () => {
    const doc = toOcsf(fullEvent('authn.login.success'));
    expect(doc).toMatchObject({
      time: Date.parse('2025-01-02T03:04:05.678Z'),
      duration: 12,
      metadata: {
        version: '1.3.0',
        product: { name: 'authtrail', vendor_name: 'authtrail' },
        uid: fullEvent('x.y.success').id,
        correlation_uid: 'flow-hash',
        sequence: 7,
      },
      user: {
        uid: 'u-1',
        full_name: 'Ada Lovelace',
        email_addr: 'ada@example.com',
        groups: [{ name: 'admin' }],
      },
      service: { name: 'idp' },
      src_endpoint: { ip: '203.0.113.7' },
      http_request: {
        http_method: 'POST',
        url: { path: '/token' },
        user_agent: 'curl/8',
        uid: 'req-1',
      },
      session: { uid: 'sess-hash' },
      // 3002 has no http_response in OCSF 1.3.0 (the IAM category gained it in 1.4.0).
      unmapped: {
        http_response: { code: 200 },
        oauth: {
          client_id: 'web-app',
          token: { fingerprint: 'fp-abc123' },
          presented: { fingerprint: 'fp-rt-456' },
        },
      },
    });
    expect(doc).not.toHaveProperty('http_response');
    const api = toOcsf(fullEvent('api.access.success'));
    expect(api).toMatchObject({
      metadata: { profiles: ['security_control'] },
      action_id: 1,
      disposition_id: 1,
      web_resources: [{ name: '/token' }],
      http_response: { code: 200 },
      unmapped: { user: { uid: 'u-1' } },
    });
  });

  test('names the principal of an OCSF Authentication event even when no user is known', () => {
    const noUser = { ...fullEvent('oauth.token_issue.failure'), user: undefined };
    expect(toOcsf(noUser).user).toEqual({ uid: 'web-app', type_id: 99, type: 'OAuth Client' });
    expect(toOcsf(sparseEvent('authn.login.failure')).user).toEqual({
      name: 'unknown',
      type_id: 0,
      type: 'Unknown',
    });
    const pseudonymous = { ...fullEvent('authn.login.success'), user: { hash: 'h-1' } };
    expect(toOcsf(pseudonymous).user).toMatchObject({ uid: 'h-1' });
    expect(toEcs(pseudonymous).user).toEqual({ hash: 'h-1' });
  });

  test("keeps an HTTP method outside OCSF 1.3.0's enum (PATCH, WebDAV ...) under unmapped, and ECS as it came", () => {
    const withMethod = (type: string, method: string) => {
      const e = fullEvent(type);
      return { ...e, http: { ...e.http!, method } };
    };
    const patch = toOcsf(withMethod('api.access.success', 'PATCH'));
    expect(patch).toMatchObject({ activity_id: 3, activity_name: 'Update', type_uid: 600103 });
    expect(patch.http_request).not.toHaveProperty('http_method');
    expect(patch.unmapped).toMatchObject({ http_method: 'PATCH' });
    const propfind = toOcsf(withMethod('api.authn.failure', 'PROPFIND'));
    expect(propfind).toMatchObject({
      activity_id: 99,
      activity_name: 'PROPFIND',
      type_name: 'Web Resources Activity: Other',
      unmapped: { http_method: 'PROPFIND' },
    });
    const login = toOcsf(withMethod('authn.login.success', 'PATCH'));
    expect(login.unmapped).toMatchObject({ http_method: 'PATCH' });
    expect(toOcsf(fullEvent('authn.login.success')).http_request).toMatchObject({
      http_method: 'POST',
    });
    expect(toEcs(withMethod('api.access.success', 'PATCH')).http).toMatchObject({
      request: { method: 'PATCH' },
    });
  });

  test("states an API request's verdict as the Security Control profile does", () => {
    const verdict = (type: string, reason?: string) => {
      const o = toOcsf({ ...fullEvent(type), reason });
      return [o.action, o.disposition];
    };
    expect([
      verdict('api.access.success'),
      verdict('api.authn.failure', 'token_expired'),
      verdict('api.authz.failure', 'insufficient_scope'),
      verdict('api.access.failure', 'server_error'),
    ]).toEqual([
      ['Allowed', 'Allowed'],
      ['Denied', 'Blocked'],
      ['Denied', 'Unauthorized'],
      ['Allowed', 'Error'],
    ]);
  });

  test("names the schema's own type_name for activity 99 and keeps the action in activity_name", () => {
    expect(toOcsf(fullEvent('oauth.token_issue.success'))).toMatchObject({
      type_uid: 300299,
      type_name: 'Authentication: Other',
      activity_name: 'Token Issue',
    });
    expect(toOcsf(fullEvent('authn.logout.success')).type_name).toBe('Authentication: Logoff');
    expect(toOcsf(fullEvent('audit.delivery.failure')).type_name).toBe('Base Event: Other');
  });

  test('identifies a user known only by e-mail or only by name in OCSF by that name', () => {
    const as = (user: AuditEvent['user']) =>
      toOcsf({ ...fullEvent('authn.login.success'), user }).user;
    expect(as({ email: 'bob@example.com' })).toEqual({
      name: 'bob@example.com',
      email_addr: 'bob@example.com',
      type_id: 1,
      type: 'User',
    });
    expect(as({ name: 'Bob' })).toEqual({
      name: 'Bob',
      full_name: 'Bob',
      type_id: 1,
      type: 'User',
    });
    expect(as({ id: 'u-2', email: 'bob@example.com' })).not.toHaveProperty('name');
  });

  test('keeps the counts of an audit.delivery.failure in both formats', () => {
    const lost: AuditEvent = {
      ...sparseEvent('audit.delivery.failure'),
      reason: 'spill_unreadable',
      delivery: { sink: 'file', dropped: 0, quarantined: 3, quarantine_file: '/var/q.jsonl' },
    };
    const delivery = { sink: 'file', dropped: 0, quarantined: 3, quarantine_file: '/var/q.jsonl' };
    expect(toOcsf(lost).unmapped).toEqual({ observer: lost.observer, delivery });
    expect(toEcs(lost).authtrail).toMatchObject({ delivery });
    expect(ecsProblems(toEcs(lost) as unknown as Json)).toEqual([]);
    expect(ocsfProblems(toOcsf(lost) as unknown as Json)).toEqual([]);
  });

  test('writes an address that is not an IP only where the schemas take any text', () => {
    const e = fullEvent('authn.login.failure');
    const odd = { ...e, source: { ip: 'unknown', forwarded: ['unknown', '203.0.113.9:443'] } };
    expect(toEcs(odd).source).toEqual({ address: 'unknown' });
    expect(toEcs(e).source).toEqual({ address: '203.0.113.7', ip: '203.0.113.7' });
    const ocsf = toOcsf(odd);
    expect(ocsf).not.toHaveProperty('src_endpoint');
    expect(ocsf.http_request).not.toHaveProperty('x_forwarded_for');
    expect(ocsf.unmapped).toMatchObject({
      src_ip: 'unknown',
      x_forwarded_for: ['unknown', '203.0.113.9:443'],
    });
    expect(toOcsf(e).http_request).toMatchObject({ x_forwarded_for: ['198.51.100.1'] });
    expect(toOcsf(e).unmapped).not.toHaveProperty('src_ip');
  });

  test('never changes the event it formats', () => {
    const event = fullEvent('oauth.token_reuse.detected');
    const before = JSON.stringify(event);
    const freeze = (o: unknown): void => {
      if (o && typeof o === 'object') Object.values(Object.freeze(o)).forEach(freeze);
    };
    freeze(event);
    for (const f of ['native', 'ecs', 'ocsf'] as const) formatEvent(event, f);
    expect(JSON.stringify(event)).toBe(before);
  });

  test('carries a bearer token only as its fingerprint in every format', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = `${b64({ alg: 'RS256' })}.${b64({ sub: 'u1', iss: 'https://op', exp: 4e9 })}.c2lnbmF0dXJl`;
    const sink = memorySink();
    const auditor = createAuditor({ sinks: [sink], keys: KEY });
    auditor.attach('core').observe({
      startTime: Date.now(),
      durationMs: 1,
      method: 'GET',
      url: '/api/items',
      status: 401,
      headers: { authorization: `Bearer ${token}` },
    });
    await auditor.flush();
    const fingerprint = sink.events[0]!.oauth!.token!.fingerprint;
    for (const f of ['native', 'ecs', 'ocsf'] as const) {
      const text = JSON.stringify(formatEvent(sink.events[0]!, f));
      expect(text).toContain(fingerprint);
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[2]);
    }
  });
});

describe('sinks with a format', () => {
  test('fileSink with format ecs writes one ECS document per line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'authtrail-')), 'audit.ecs.jsonl');
    const auditor = createAuditor({ sinks: [fileSink(path, { format: 'ecs' })], keys: KEY });
    auditor.record({ type: 'authn.login.success', user: { id: 'u1' } });
    auditor.record({ type: 'api.authz.failure', reason: 'insufficient_scope' });
    await auditor.close();
    const docs = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    expect(docs.map((d) => ecsProblems(d))).toEqual([[], []]);
    expect(docs).toEqual([
      expect.objectContaining({
        event: expect.objectContaining({ action: 'authn.login.success' }),
        user: { id: 'u1' },
      }),
      expect.objectContaining({
        event: expect.objectContaining({ outcome: 'failure', reason: 'insufficient_scope' }),
      }),
    ]);
  });

  test('stdoutSink with format ocsf writes OCSF lines to its stream', async () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (c) => (out += String(c)));
    const auditor = createAuditor({ sinks: [stdoutSink({ stream, format: 'ocsf' })], keys: KEY });
    auditor.record({ type: 'authn.logout.success', user: { id: 'u1' } });
    await auditor.flush();
    const doc = JSON.parse(out) as Json;
    expect(doc).toMatchObject({ class_uid: 3002, activity_id: 2, type_uid: 300202 });
    expect(ocsfProblems(doc)).toEqual([]);
  });

  test('memorySink keeps native events and writes text in its format; callbackSink passes formatted objects', async () => {
    const memory = memorySink({ format: 'ocsf' });
    const seen: unknown[] = [];
    const callback = callbackSink((doc) => void seen.push(doc), { format: 'ecs' });
    const auditor = createAuditor({ sinks: [memory, callback], keys: KEY });
    auditor.record({ type: 'oauth.token_issue.success', client: { id: 'c1' } });
    await auditor.flush();
    expect(memory.events[0]).toMatchObject({ schema: 1, type: 'oauth.token_issue.success' });
    expect(JSON.parse(memory.text())).toMatchObject({
      class_uid: 3002,
      activity_name: 'Token Issue',
    });
    expect(seen).toEqual([
      expect.objectContaining({
        authtrail: expect.objectContaining({ oauth: { client: { id: 'c1' } } }),
      }),
    ]);
  });

  test('Batch.lines computes each format once and shares it between sinks', async () => {
    const batches: Batch[] = [];
    const recording: Sink = { name: 'recording', write: (b) => void batches.push(b) };
    const auditor = createAuditor({ sinks: [recording], keys: KEY });
    auditor.record({ type: 'authn.login.success', reason: 'first' });
    await auditor.flush();
    const batch = batches[0]!;
    const ecs = batch.lines('ecs');
    // Changing the event after the first call shows the second call reuses the cached lines.
    (batch.events[0] as { reason?: string }).reason = 'changed';
    expect(batch.lines('ecs')).toBe(ecs);
    expect(batch.lines('ocsf')).toContain('"status_detail":"changed"');
    expect(batch.lines()).toBe(batch.lines('native'));
  });

  test.each([
    ['stdoutSink', () => stdoutSink({ format: 'xml' as EventFormat })],
    ['fileSink', () => fileSink('/tmp/never-written.jsonl', { format: 'xml' as EventFormat })],
    ['memorySink', () => memorySink({ format: 'xml' as EventFormat })],
    ['callbackSink', () => callbackSink(() => {}, { format: 'xml' as EventFormat })],
  ])('%s refuses an unknown format at creation, naming it and the valid ones', (name, create) => {
    expect(create).toThrow(
      expect.objectContaining({
        code: 'ERR_AUTHTRAIL_INVALID_OPTIONS',
        message: expect.stringContaining(`${name}(`),
        issues: [expect.objectContaining({ received: '"xml"' })],
      }),
    );
    expect(create).toThrow(/received "xml"; use one of 'native', 'ecs', 'ocsf'/);
  });
});
