import type { AuditEvent } from '../types.js';
import { attackOf, attackUrl } from './attack.js';
import { compact, typeParts } from './compact.js';
import { isIpAddress } from './ip-address.js';

/** The ECS version whose field names and categorization values {@link toEcs} follows. */
export const ECS_VERSION = '8.11.0';

/**
 * An audit event as an Elastic Common Schema document: nested objects, `@timestamp` first.
 * Fields ECS does not define live under the product's namespace `authtrail.*`, OAuth / OIDC
 * details under `authtrail.oauth.*`.
 */
export interface EcsDocument {
  '@timestamp': string;
  ecs: { version: string };
  message: string;
  event: {
    id: string;
    action: string;
    outcome: 'success' | 'failure' | 'unknown';
    kind: 'event' | 'alert';
    category?: string[];
    type?: string[];
    dataset: string;
    reason?: string;
    severity?: number;
    risk_score?: number;
    start?: string;
    duration?: number;
    sequence?: number;
  };
  [field: string]: unknown;
}

interface Categorization {
  category: string[];
  type: string[];
}

// ECS categorization by `<category>.<action>`. Each event.type value is one ECS lists as expected
// for at least one of the categories beside it (ecs-allowed-values-event-category).
const BY_ACTION: Readonly<Record<string, Categorization>> = {
  'authn.login_start': { category: ['authentication'], type: ['info'] },
  'authn.login': { category: ['authentication', 'session'], type: ['start'] },
  'authn.logout': { category: ['authentication', 'session'], type: ['end'] },
  // A lockout changes what a user may do (sign in from an IP): an IAM change of that user.
  'authn.lockout': { category: ['iam'], type: ['user', 'change'] },
  'authn.lockout_end': { category: ['iam'], type: ['user', 'change'] },
  'oauth.authorize': { category: ['authentication'], type: ['info'] },
  'oauth.consent_grant': { category: ['iam'], type: ['creation'] },
  'oauth.consent_revoke': { category: ['iam'], type: ['deletion'] },
  'oauth.token_issue': { category: ['authentication', 'iam'], type: ['info', 'creation'] },
  'oauth.token_refresh': { category: ['authentication', 'iam'], type: ['info', 'creation'] },
  'oauth.token_revoke': { category: ['iam'], type: ['deletion'] },
  'oauth.token_introspect': { category: ['authentication'], type: ['info'] },
  'oauth.userinfo': { category: ['iam'], type: ['user', 'info'] },
};

function categorize(type: string): Categorization | undefined {
  const [category, action, outcome] = typeParts(type);
  if (outcome === 'detected') {
    // A detector fired: an alert about (usually) authentication activity.
    const also = category === 'authn' || category === 'oauth' ? ['authentication'] : [];
    return { category: ['intrusion_detection', ...also], type: ['info'] };
  }
  const known = BY_ACTION[`${category}.${action}`];
  if (known) return known;
  if (category === 'api') {
    // A bearer-token request: web access, allowed or denied by the resource server.
    const verdict = outcome === 'success' ? 'allowed' : 'denied';
    return action === 'authn'
      ? { category: ['authentication', 'web', 'api'], type: ['info', 'access', verdict] }
      : { category: ['web', 'api'], type: ['access', verdict] };
  }
  if (category === 'authn' || category === 'oauth')
    return { category: ['authentication'], type: ['info'] };
  // A read of the audit trail through the console's API (PCI DSS 10.2.1.3): web access, allowed
  // or denied, as an API call is.
  if (category === 'audit' && action === 'access')
    return {
      category: ['web', 'api'],
      type: ['access', outcome === 'success' ? 'allowed' : 'denied'],
    };
  // authtrail's own events (audit.delivery.failure) and unknown custom categories: no ECS bucket
  // fits, and a wrong one would put them on security dashboards. event.action still names them.
  return undefined;
}

// A detection's severity as a number: the default risk score Elastic Security's rule form fills in
// for a rule of that severity (21, 47, 73, 99). A rule that overrides its risk score from a source
// field (a number from 0 to 100) can read either field.
const SEVERITY_SCORE = { low: 21, medium: 47, high: 73, critical: 99 } as const;

/** ECS `threat.*` for a detection type that stands for an ATT&CK technique. */
function threatOf(type: string) {
  const [category, action, outcome] = typeParts(type);
  const attack = outcome === 'detected' ? attackOf(category, action) : undefined;
  if (!attack) return undefined;
  const { tactics, technique, subtechnique: sub } = attack;
  return {
    framework: 'MITRE ATT&CK',
    tactic: {
      id: tactics.map((t) => t.id),
      name: tactics.map((t) => t.name),
      reference: tactics.map((t) => attackUrl(t.id)),
    },
    technique: {
      id: [technique.id],
      name: [technique.name],
      reference: [attackUrl(technique.id)],
      subtechnique: sub && { id: [sub.id], name: [sub.name], reference: [attackUrl(sub.id)] },
    },
  };
}

/**
 * Maps an audit event to an ECS 8.x document. Pure: the event is not changed, the result is plain
 * JSON with no `undefined` values. Tokens appear only as the event carries them: fingerprints.
 * @example
 * const doc = toEcs(event);
 * doc.event.action; // 'api.authn.failure'
 * doc.event.outcome; // 'failure'
 */
export function toEcs(event: AuditEvent): EcsDocument {
  const { http, oauth, user, source, detection } = event;
  // Own keys only: an event read back from a file can carry any severity (`constructor` too).
  const score =
    detection && Object.hasOwn(SEVERITY_SCORE, detection.severity)
      ? SEVERITY_SCORE[detection.severity]
      : undefined;
  const cat = categorize(event.type);
  const outcome = event.outcome === 'detected' ? 'unknown' : event.outcome;
  return compact({
    '@timestamp': event.time,
    ecs: { version: ECS_VERSION },
    message: event.type,
    event: {
      id: event.id,
      action: event.type,
      outcome,
      kind: event.outcome === 'detected' ? 'alert' : 'event',
      category: cat?.category,
      type: cat?.type,
      dataset: 'authtrail.audit',
      reason: event.reason,
      severity: score,
      risk_score: score,
      // The first event of the evidence: when the activity the alert is about began.
      start: detection?.first_time,
      duration: http ? Math.round(http.duration_ms * 1e6) : undefined,
      sequence: event.seq,
    },
    user: user && {
      id: user.id,
      hash: user.hash,
      // The OIDC `name` claim is the person's full name; ECS user.name is a login name.
      full_name: user.name,
      email: user.email,
      roles: user.roles,
    },
    // ECS keeps the raw address in `address` and copies it to `ip` when it is one: an `ip` field
    // that is not an address makes Elasticsearch reject the whole document.
    source:
      source?.ip === undefined
        ? undefined
        : { address: source.ip, ip: isIpAddress(source.ip) ? source.ip : undefined },
    user_agent: source?.user_agent === undefined ? undefined : { original: source.user_agent },
    http: http && {
      request: { id: http.request_id, method: http.method },
      response: { status_code: http.status },
    },
    url: http && { path: http.path, query: http.query },
    service: { name: event.observer.service, node: { name: event.observer.instance } },
    error: event.error && { code: event.error.code },
    rule: detection && { name: detection.detector },
    threat: threatOf(event.type),
    trace: event.trace && { id: event.trace.id },
    span: event.trace && { id: event.trace.span_id },
    // ECS asks custom fields to nest under the product's own namespace, so that a later ECS field
    // of the same name (an `oauth.*` of ECS's own) can never collide with ours.
    authtrail: {
      schema: event.schema,
      role: event.observer.role,
      adapter: event.observer.adapter,
      route: http?.route,
      forwarded: source?.forwarded,
      session: event.session && { id: event.session.id },
      flow: event.flow && { id: event.flow.id },
      chain: event.chain,
      delivery: event.delivery,
      retention: event.retention,
      heartbeat: event.heartbeat,
      lockout: event.lockout,
      access: event.access,
      // All of it, the severity word and the evidence ids included: ECS has a field for neither.
      detection,
      oauth: {
        client: event.client && { id: event.client.id },
        issuer: oauth?.issuer,
        scope: oauth?.scope,
        audience: oauth?.audience,
        grant_type: oauth?.grant_type,
        token: oauth?.token && {
          type: oauth.token.type,
          fingerprint: oauth.token.fingerprint,
          verified: oauth.token.verified,
          alg: oauth.token.alg,
          expires_at: oauth.token.expires_at,
          active: oauth.token.active,
        },
        presented: oauth?.presented && {
          type: oauth.presented.type,
          fingerprint: oauth.presented.fingerprint,
          verified: oauth.presented.verified,
        },
      },
    },
  } satisfies EcsDocument);
}
