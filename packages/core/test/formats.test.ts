import { isIP } from 'node:net';
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

const KEY = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
type Json = Record<string, unknown>;
type Enum = Record<string, string>;
type Types = Record<string, string>;

interface OcsfClass {
  name: string;
  category_uid: number;
  category_name: string;
  activity_id: Enum;
  status_id: Enum;
  required: string[];
  at_least_one?: string[];
  auth_protocol_id?: Enum;
  objects?: Record<string, { required?: string[]; types?: Types; type_id?: Enum }>;
}
interface OcsfSchema {
  version: string;
  base: {
    required: string[];
    types: Types;
    severity_id: Enum;
    metadata: { required: string[]; types: Types; product: { types: Types } };
    objects: {
      user: { at_least_one: string[]; types: Types; type_id: Enum };
      network_endpoint: { types: Types };
      http_request: { types: Types };
      http_response: { required: string[]; types: Types };
      url: { types: Types };
    };
  };
  classes: Record<string, OcsfClass>;
}
interface EcsFields {
  fields: Types;
  custom: Types;
  required: string[];
  allowed: {
    'event.kind': string[];
    'event.outcome': string[];
    'event.category': Record<string, string[]>;
    'event.type': string[];
  };
}

// The schema descriptions the outputs are checked against, written by hand from the specs.
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const ocsfSchema = fixture('ocsf-1.3.0.json') as OcsfSchema;
const ecsFields = fixture('ecs-fields.json') as EcsFields;

/** Every known type with every field known: what a busy provider or API would log. */
function fullEvent(type: string): AuditEvent {
  const outcome = type.slice(type.lastIndexOf('.') + 1) as AuditEvent['outcome'];
  return {
    schema: 1,
    id: '01938f5e-7a00-7000-8000-000000000001',
    time: '2025-01-02T03:04:05.678Z',
    type,
    outcome,
    observer: { role: 'op', service: 'idp', instance: 'host/1', adapter: 'koa' },
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
    seq: 7,
    chain: { id: 'c1', prev: 'p', hash: 'h' } as AuditEvent['chain'],
  };
}

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

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** Problems of an OCSF event against the schema description; empty when it conforms. */
function ocsfProblems(doc: Json): string[] {
  const problems: string[] = [];
  const base = ocsfSchema.base;
  const checkTypes = (obj: Json, types: Record<string, string>, where: string) => {
    for (const [k, t] of Object.entries(types))
      if (k in obj && typeOf(obj[k]) !== t)
        problems.push(`${where}.${k} is ${typeOf(obj[k])}, not ${t}`);
  };
  for (const k of base.required) if (!(k in doc)) problems.push(`missing ${k}`);
  checkTypes(doc, base.types, '');
  const cls = ocsfSchema.classes[String(doc.class_uid)];
  if (!cls) return [...problems, `unknown class_uid ${String(doc.class_uid)}`];
  if (doc.category_uid !== cls.category_uid)
    problems.push(`category_uid ${String(doc.category_uid)}`);
  if (doc.category_name !== cls.category_name)
    problems.push(`category_name ${String(doc.category_name)}`);
  if (doc.class_name !== cls.name) problems.push(`class_name ${String(doc.class_name)}`);
  const activities = cls.activity_id;
  const activityId = String(doc.activity_id);
  if (!(activityId in activities))
    problems.push(`activity_id ${activityId} not valid for ${cls.name}`);
  if (activityId === '99') {
    if (
      typeof doc.activity_name !== 'string' ||
      doc.activity_name === '' ||
      doc.activity_name === 'Other'
    )
      problems.push('activity 99 needs a source-specific activity_name');
  } else if (doc.activity_name !== activities[activityId]) {
    problems.push(`activity_name ${String(doc.activity_name)} for ${activityId}`);
  }
  if (doc.type_uid !== (doc.class_uid as number) * 100 + (doc.activity_id as number))
    problems.push('type_uid is not class_uid * 100 + activity_id');
  if (doc.type_name !== `${cls.name}: ${String(doc.activity_name)}`) problems.push('type_name');
  if (base.severity_id[String(doc.severity_id)] !== doc.severity) problems.push('severity');
  if (cls.status_id[String(doc.status_id)] !== doc.status) problems.push('status');
  for (const k of cls.required)
    if (!(k in doc)) problems.push(`missing ${k} (required by ${cls.name})`);
  if (cls.at_least_one && !cls.at_least_one.some((k) => k in doc))
    problems.push(`needs one of ${cls.at_least_one.join(', ')}`);
  if (
    cls.auth_protocol_id &&
    cls.auth_protocol_id[String(doc.auth_protocol_id)] !== doc.auth_protocol
  )
    problems.push('auth_protocol');

  const metadata = doc.metadata as Json;
  for (const k of base.metadata.required)
    if (!(k in metadata)) problems.push(`missing metadata.${k}`);
  checkTypes(metadata, base.metadata.types, 'metadata');
  checkTypes(metadata.product as Json, base.metadata.product.types, 'metadata.product');
  if (metadata.version !== ocsfSchema.version) problems.push('metadata.version');

  const objects = base.objects;
  const users = [
    doc.user,
    ...((doc.evidences as Json[] | undefined) ?? []).map((e) => (e.actor as Json)?.user),
  ];
  for (const user of users.filter(Boolean) as Json[]) {
    if (!objects.user.at_least_one.some((k) => k in user))
      problems.push('user has no account, name or uid');
    checkTypes(user, objects.user.types, 'user');
    if (!(String(user.type_id) in objects.user.type_id))
      problems.push(`user.type_id ${String(user.type_id)}`);
  }
  if (doc.src_endpoint)
    checkTypes(doc.src_endpoint as Json, objects.network_endpoint.types, 'src_endpoint');
  if (doc.src_endpoint && !isIP(String((doc.src_endpoint as Json).ip)))
    problems.push('src_endpoint.ip');
  if (doc.http_request) {
    checkTypes(doc.http_request as Json, objects.http_request.types, 'http_request');
    const url = (doc.http_request as Json).url as Json | undefined;
    if (url) checkTypes(url, objects.url.types, 'http_request.url');
  }
  if (doc.http_response) {
    for (const k of objects.http_response.required)
      if (!(k in (doc.http_response as Json))) problems.push(`missing http_response.${k}`);
    checkTypes(doc.http_response as Json, objects.http_response.types, 'http_response');
  }
  if (doc.class_uid === 2004) {
    const { finding_info: infoSchema, analytic: analyticSchema } = cls.objects!;
    const info = doc.finding_info as Json;
    for (const k of infoSchema!.required!)
      if (!(k in info)) problems.push(`missing finding_info.${k}`);
    checkTypes(info, infoSchema!.types!, 'finding_info');
    const analytic = info.analytic as Json | undefined;
    if (analytic && !(String(analytic.type_id) in analyticSchema!.type_id!))
      problems.push('analytic.type_id');
  }
  return problems;
}

function flatten(value: Json, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flatten(v as Json, key + '.'));
    else out[key] = v;
  }
  return out;
}

function ecsTypeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'wildcard':
    case 'match_only_text':
      return typeof v === 'string';
    case 'keyword[]':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'long':
      return Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v));
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0;
    default:
      return false;
  }
}

/** Problems of an ECS document against the field list; empty when it conforms. */
function ecsProblems(doc: Json): string[] {
  const problems: string[] = [];
  const flat = flatten(doc);
  const known: Record<string, string> = { ...ecsFields.fields, ...ecsFields.custom };
  for (const [k, v] of Object.entries(flat)) {
    if (!(k in known)) problems.push(`${k} is not in ecs-fields.json`);
    else if (!ecsTypeOk(known[k]!, v)) problems.push(`${k} is not a ${known[k]}`);
  }
  for (const k of ecsFields.required) if (!(k in flat)) problems.push(`missing ${k}`);
  const allowed = ecsFields.allowed;
  if (!allowed['event.kind'].includes(flat['event.kind'] as string)) problems.push('event.kind');
  if (!allowed['event.outcome'].includes(flat['event.outcome'] as string))
    problems.push('event.outcome');
  const categories = (flat['event.category'] as string[] | undefined) ?? [];
  const types = (flat['event.type'] as string[] | undefined) ?? [];
  if (categories.length > 0 !== types.length > 0)
    problems.push('event.category without event.type');
  const expected = allowed['event.category'];
  for (const c of categories) {
    if (!expected[c]) problems.push(`event.category ${c} not allowed`);
    else if (!types.some((t) => expected[c]!.includes(t)))
      problems.push(`no event.type expected for ${c}`);
  }
  for (const t of types) {
    if (!allowed['event.type'].includes(t)) problems.push(`event.type ${t} not allowed`);
    else if (!categories.some((c) => expected[c]?.includes(t)))
      problems.push(`event.type ${t} is expected by none of ${categories.join(', ')}`);
  }
  return problems;
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
      'oauth.token_revoke.success': [3002, 99, 'Token Revoke'],
      'oauth.token_revoke.failure': [3002, 99, 'Token Revoke'],
      'oauth.token_introspect.success': [3002, 99, 'Token Introspect'],
      'oauth.token_introspect.failure': [3002, 99, 'Token Introspect'],
      'oauth.userinfo.success': [3002, 99, 'Userinfo'],
      'oauth.userinfo.failure': [3002, 99, 'Userinfo'],
      'api.access.success': [6004, 1, 'Access Grant'],
      'api.authn.failure': [6004, 2, 'Access Deny'],
      'api.authz.failure': [6004, 2, 'Access Deny'],
      'authn.bruteforce.detected': [2004, 1, 'Create'],
      'audit.delivery.failure': [0, 99, 'Delivery'],
      // Other entries added to the taxonomy later fall to Base Event until mapped on purpose.
      ...Object.fromEntries(
        ALL_TYPES.filter((t) => t.startsWith('audit.') && t !== 'audit.delivery.failure').map(
          (t) => [t, [0, 99, expect.any(String)]],
        ),
      ),
    });
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
      oauth: {
        client: { id: 'web-app' },
        grant_type: 'authorization_code',
        token: { fingerprint: 'fp-abc123', verified: true, active: true },
      },
      authtrail: { session: { id: 'sess-hash' }, flow: { id: 'flow-hash' } },
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
      http_response: { code: 200 },
      session: { uid: 'sess-hash' },
      unmapped: { oauth: { client_id: 'web-app', token: { fingerprint: 'fp-abc123' } } },
    });
    const api = toOcsf(fullEvent('api.access.success'));
    expect(api).toMatchObject({
      web_resources: [{ name: '/token' }],
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
    expect(seen).toEqual([expect.objectContaining({ oauth: { client: { id: 'c1' } } })]);
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
