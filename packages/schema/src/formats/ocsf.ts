import type { AuditEvent } from '../types.js';
import { attackOf } from './attack.js';
import { compact, titleCase, typeParts } from './compact.js';
import { isIpAddress } from './ip-address.js';
import { ocsfUser, securityControl } from './ocsf-objects.js';

/** The OCSF schema version {@link toOcsf} follows, stated in every event's `metadata.version`. */
export const OCSF_VERSION = '1.3.0';

/** An audit event as an OCSF event: the classification numbers always, the rest when known. */
export interface OcsfEvent {
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  severity_id: number;
  severity: string;
  status_id?: number;
  status?: string;
  metadata: {
    version: string;
    product: { name: string; vendor_name: string };
    uid: string;
    log_name: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

const SEVERITY = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical' } as const;

// A detection's own severity, as OCSF numbers it.
const DETECTION_SEVERITY = { low: 2, medium: 3, high: 4, critical: 5 } as const;

// Authentication (3002) activity ids. Logon / Logoff are the schema's own; OAuth and OIDC actions
// have no activity of their own in OCSF, so they are 99 (Other) with the action as activity_name.
const AUTHN_ACTIVITY: Readonly<Record<string, number>> = { login: 1, logout: 2 };

// Web Resources Activity (6001) activity ids by HTTP method. A method with none (OPTIONS, WebDAV's,
// an extension) is 99 Other, named by the method itself.
const WEB_ACTIVITY: Readonly<Record<string, [number, string]>> = {
  GET: [2, 'Read'],
  HEAD: [2, 'Read'],
  POST: [1, 'Create'],
  PUT: [3, 'Update'],
  PATCH: [3, 'Update'],
  DELETE: [4, 'Delete'],
};

// The `http_method` enum of OCSF 1.3.0's HTTP Request object. PATCH joined it only in 1.4.0: any
// other method stays out of `http_request` (a value outside the enum is invalid) and goes to
// `unmapped.http_method`.
const HTTP_METHODS = new Set('CONNECT DELETE GET HEAD OPTIONS POST PUT TRACE'.split(' '));

function severityOf(event: AuditEvent, category: string): keyof typeof SEVERITY {
  if (event.outcome === 'detected') {
    const graded = event.detection?.severity;
    // Own keys only: an event read back from a file can carry any severity (`constructor` too).
    return graded !== undefined && Object.hasOwn(DETECTION_SEVERITY, graded)
      ? DETECTION_SEVERITY[graded]
      : 4;
  }
  if (event.outcome === 'success') return 1;
  // authtrail itself lost audit events: worse than one refused request.
  return category === 'audit' ? 3 : 2;
}

/**
 * Maps an audit event to an OCSF 1.3.0 event. Pure: the event is not changed, the result is plain
 * JSON with no `undefined` values. Valid against the official 1.3.0 schema (the tests check every
 * taxonomy entry against its dictionary, classes, objects and profiles).
 *
 * - `authn.lockout.*` and `authn.lockout_end.*`: 3001 Account Change (Lock 9; the end 99 Other).
 * - `authn.*` and `oauth.*`: 3002 Authentication (Logon 1, Logoff 2, other actions 99 Other with
 *   `activity_name` such as "Token Issue").
 * - `api.*` with a request: 6001 Web Resources Activity with the Security Control profile, the
 *   class 1.3.0 names in place of the deprecated 6004: the activity from the HTTP method (Read,
 *   Create, Update, Delete, else 99), the verdict in `action_id` / `disposition_id`.
 * - `*.detected`: 2004 Detection Finding (Create 1, finding status New), with the detection's
 *   severity (High without one), detector (`analytic`), count, evidence (`related_events`) and
 *   the ATT&CK technique its type stands for.
 * - anything else (`audit.*`, custom categories): 0 Base Event, activity 99.
 *
 * `type_name` is the schema's own: `<class>: <activity>`, "Other" for 99. Attributes a class does
 * not define (OAuth details, the observer, the delivery counts, the HTTP response of a 3002 event)
 * go under `unmapped`, as OCSF asks.
 * @example
 * const e = toOcsf(event);
 * e.type_uid === e.class_uid * 100 + e.activity_id; // always
 */
export function toOcsf(event: AuditEvent): OcsfEvent {
  const [category, action, outcome] = typeParts(event.type);
  const { http, source } = event;
  const severityId = severityOf(event, category);
  const user = ocsfUser(event.user);
  // Values the schema's types refuse (an address that is not an IP, a forwarded chain with
  // `unknown` in it, a method outside the enum) go under `unmapped`, under the same name.
  const ip = source?.ip !== undefined && isIpAddress(source.ip) ? source.ip : undefined;
  const srcEndpoint = ip === undefined ? undefined : { ip };
  const forwarded = source?.forwarded?.every(isIpAddress) ? source.forwarded : undefined;
  const method = http && (HTTP_METHODS.has(http.method) ? http.method : undefined);
  const httpRequest = http && {
    http_method: method,
    url: { path: http.path, query_string: http.query },
    user_agent: source?.user_agent,
    uid: http.request_id,
    x_forwarded_for: forwarded,
  };
  const httpResponse = http && { code: http.status };
  const oauth = event.oauth;
  const unmapped: Json = {
    observer: event.observer,
    route: http?.route,
    http_method: http && method === undefined ? http.method : undefined,
    src_ip: ip === undefined ? source?.ip : undefined,
    x_forwarded_for: forwarded === undefined ? source?.forwarded : undefined,
    trace: event.trace,
    chain: event.chain,
    delivery: event.delivery,
    retention: event.retention,
    heartbeat: event.heartbeat,
    lockout: event.lockout,
    access: event.access,
    oauth: {
      client_id: event.client?.id,
      issuer: oauth?.issuer,
      scope: oauth?.scope,
      audience: oauth?.audience,
      grant_type: oauth?.grant_type,
      token: oauth?.token,
      presented: oauth?.presented,
    },
  };

  let cls: { category_uid: number; category_name: string; class_uid: number; class_name: string };
  let activityId: number;
  let activityName: string;
  let status: { status_id: number; status: string } = outcomeStatus(event.outcome);
  let profiles: string[] | undefined;
  let specific: Json;

  if (outcome === 'detected') {
    cls = {
      category_uid: 2,
      category_name: 'Findings',
      class_uid: 2004,
      class_name: 'Detection Finding',
    };
    activityId = 1;
    activityName = 'Create';
    // A finding's status is its triage state, not the success of an activity: a new alert is New.
    status = { status_id: 1, status: 'New' };
    const detection = event.detection;
    const attack = attackOf(category, action);
    specific = {
      // The detection's count, over the evidence from its first event on.
      count: detection?.count,
      start_time: epochMs(detection?.first_time),
      finding_info: {
        uid: event.id,
        title: `${titleCase(action)} detected`,
        desc: event.reason,
        types: [event.type],
        analytic: { name: detection?.detector ?? event.type, type_id: 1, type: 'Rule' },
        attacks: attack?.tactics.map((tactic) => ({
          tactic: { uid: tactic.id, name: tactic.name },
          technique: { uid: attack.technique.id, name: attack.technique.name },
          sub_technique: attack.subtechnique && {
            uid: attack.subtechnique.id,
            name: attack.subtechnique.name,
          },
        })),
        created_time: Date.parse(event.time),
        // First seen with the evidence's first event; last seen now: the last event of the
        // evidence is the one that made it fire.
        first_seen_time: epochMs(detection?.first_time),
        last_seen_time: detection && Date.parse(event.time),
        related_events: detection && relatedEvents(detection.first, detection.last),
      },
      evidences:
        user || srcEndpoint ? [{ actor: user && { user }, src_endpoint: srcEndpoint }] : undefined,
      unmapped: {
        ...unmapped,
        // What the finding has no attribute for: what was counted, and against what.
        detection: detection && {
          key: detection.key,
          threshold: detection.threshold,
          window_s: detection.window_s,
        },
        http_request: httpRequest,
        http_response: httpResponse,
      },
    };
  } else if (category === 'authn' && (action === 'lockout' || action === 'lockout_end')) {
    // Enforcement locked an account (for one IP) or the lock ended: Account Change, Lock (9).
    // OCSF 1.3.0 has no Unlock activity: the end is 99 Other, named "Lockout End".
    cls = {
      category_uid: 3,
      category_name: 'Identity & Access Management',
      class_uid: 3001,
      class_name: 'Account Change',
    };
    activityId = action === 'lockout' ? 9 : 99;
    activityName = action === 'lockout' ? 'Lock' : titleCase(action);
    specific = {
      // `user` is required by the class; a lock's end names only its key (in `unmapped.lockout`).
      user: user ?? { name: 'unknown', type_id: 0, type: 'Unknown' },
      src_endpoint: srcEndpoint,
      http_request: httpRequest,
      unmapped: { ...unmapped, http_response: httpResponse },
    };
  } else if (category === 'authn' || category === 'oauth') {
    cls = {
      category_uid: 3,
      category_name: 'Identity & Access Management',
      class_uid: 3002,
      class_name: 'Authentication',
    };
    activityId = (category === 'authn' && AUTHN_ACTIVITY[action]) || 99;
    activityName = activityId === 1 ? 'Logon' : activityId === 2 ? 'Logoff' : titleCase(action);
    specific = {
      // `user` is required by the class. Without an end user (a client_credentials grant, a failed
      // login) the OAuth client is the principal that authenticated; failing that, say unknown.
      user:
        user ??
        (event.client
          ? { uid: event.client.id, type_id: 99, type: 'OAuth Client' }
          : { name: 'unknown', type_id: 0, type: 'Unknown' }),
      service: { name: event.observer.service },
      auth_protocol_id: category === 'authn' ? 4 : 6,
      auth_protocol: category === 'authn' ? 'OpenID' : 'OAUTH 2.0',
      src_endpoint: srcEndpoint,
      http_request: httpRequest,
      session: event.session && { uid: event.session.id },
      // The IAM category gained http_response in OCSF 1.4.0; in 1.3.0 it is not an attribute here.
      unmapped: { ...unmapped, http_response: httpResponse },
    };
  } else if (category === 'api' && http) {
    cls = {
      category_uid: 6,
      category_name: 'Application Activity',
      class_uid: 6001,
      class_name: 'Web Resources Activity',
    };
    [activityId, activityName] = WEB_ACTIVITY[http.method] ?? [99, http.method];
    profiles = ['security_control'];
    specific = {
      ...securityControl(event, action),
      http_request: httpRequest,
      web_resources: [{ name: http.route ?? http.path, url_string: http.path, type: 'HTTP' }],
      http_response: httpResponse,
      src_endpoint: srcEndpoint,
      unmapped: { ...unmapped, user },
    };
  } else {
    // authtrail's own events, custom categories, and a manual api.* event without the request
    // that 6001 requires: Base Event, the schema's class for events no other class describes.
    cls = {
      category_uid: 0,
      category_name: 'Uncategorized',
      class_uid: 0,
      class_name: 'Base Event',
    };
    activityId = 99;
    activityName = titleCase(action);
    specific = {
      unmapped: {
        ...unmapped,
        user,
        src_endpoint: srcEndpoint,
        http_request: httpRequest,
        http_response: httpResponse,
      },
    };
  }

  return compact({
    ...cls,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: cls.class_uid * 100 + activityId,
    // Derived by the schema from the class and the activity id's caption: 99 is "Other", whatever
    // activity_name says.
    type_name: `${cls.class_name}: ${activityId === 99 ? 'Other' : activityName}`,
    time: Date.parse(event.time),
    severity_id: severityId,
    severity: SEVERITY[severityId],
    ...status,
    status_code: event.error?.code,
    status_detail: event.reason,
    message: event.type,
    duration: http ? Math.round(http.duration_ms) : undefined,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'authtrail', vendor_name: 'authtrail' },
      profiles,
      uid: event.id,
      log_name: 'audit',
      correlation_uid: event.flow?.id,
      sequence: event.seq,
    },
    ...specific,
  } satisfies OcsfEvent);
}

/** An ISO time as OCSF's milliseconds, if it is one (an event read from a file may hold anything). */
function epochMs(time: string | undefined): number | undefined {
  const ms = time === undefined ? NaN : Date.parse(time);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The evidence of a detection as OCSF related events: its first and last (one if they are one). */
function relatedEvents(first: string, last: string): { uid: string }[] {
  return first === last ? [{ uid: first }] : [{ uid: first }, { uid: last }];
}

function outcomeStatus(outcome: AuditEvent['outcome']): { status_id: number; status: string } {
  return outcome === 'success'
    ? { status_id: 1, status: 'Success' }
    : outcome === 'failure'
      ? { status_id: 2, status: 'Failure' }
      : { status_id: 0, status: 'Unknown' };
}
