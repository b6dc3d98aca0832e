/**
 * The event taxonomy: `type` is `<category>.<action>.<outcome>`. The failure detail lives in
 * `reason` (one of {@link Reasons}) and `error.code` (the OAuth error), never in the name. Types
 * marked reserved are named so that dashboards and the schema can know them, but nothing in
 * authtrail records them yet (an app may, with `record()`).
 */
export const EventTypes = {
  LOGIN_START_SUCCESS: 'authn.login_start.success',
  LOGIN_START_FAILURE: 'authn.login_start.failure',
  LOGIN_SUCCESS: 'authn.login.success',
  LOGIN_FAILURE: 'authn.login.failure',
  LOGOUT_SUCCESS: 'authn.logout.success',
  LOGOUT_FAILURE: 'authn.logout.failure',
  /** rp: one of the app's own pages refused a browser (401/403 without any bearer attempt). */
  SESSION_FAILURE: 'authn.session.failure',
  AUTHORIZE_SUCCESS: 'oauth.authorize.success',
  AUTHORIZE_FAILURE: 'oauth.authorize.failure',
  CONSENT_GRANT_SUCCESS: 'oauth.consent_grant.success',
  CONSENT_GRANT_FAILURE: 'oauth.consent_grant.failure',
  /** Reserved: nothing records it yet (oidc-provider's grant revocation is not observed). */
  CONSENT_REVOKE_SUCCESS: 'oauth.consent_revoke.success',
  /** Reserved: nothing records it yet. */
  CONSENT_REVOKE_FAILURE: 'oauth.consent_revoke.failure',
  TOKEN_ISSUE_SUCCESS: 'oauth.token_issue.success',
  TOKEN_ISSUE_FAILURE: 'oauth.token_issue.failure',
  TOKEN_REFRESH_SUCCESS: 'oauth.token_refresh.success',
  TOKEN_REFRESH_FAILURE: 'oauth.token_refresh.failure',
  /**
   * op: a refresh token presented again after it was rotated or revoked (the provider's observer
   * records it, `reason: token_reused`).
   */
  TOKEN_REUSE_DETECTED: 'oauth.token_reuse.detected',
  /**
   * An access token presented from a second network (another /24, or /64 for IPv6) within its
   * lifetime: detector `access_token_replay`, keyed by the token's fingerprint (in
   * `oauth.token.fingerprint`).
   */
  TOKEN_REPLAY_DETECTED: 'oauth.token_replay.detected',
  TOKEN_REVOKE_SUCCESS: 'oauth.token_revoke.success',
  TOKEN_REVOKE_FAILURE: 'oauth.token_revoke.failure',
  TOKEN_INTROSPECT_SUCCESS: 'oauth.token_introspect.success',
  TOKEN_INTROSPECT_FAILURE: 'oauth.token_introspect.failure',
  USERINFO_SUCCESS: 'oauth.userinfo.success',
  USERINFO_FAILURE: 'oauth.userinfo.failure',
  API_ACCESS_SUCCESS: 'api.access.success',
  API_AUTHN_FAILURE: 'api.authn.failure',
  API_AUTHZ_FAILURE: 'api.authz.failure',
  /**
   * Repeated failed sign-ins for one account: detector `brute_force` (the account from one IP,
   * failures in a row) or `distributed_brute_force` (the account from any IP). `user` and, for
   * `brute_force`, `source.ip` name the target and the source.
   */
  BRUTEFORCE_DETECTED: 'authn.bruteforce.detected',
  /** Failed sign-ins for many distinct accounts from one IP: detector `password_spraying`, keyed by the IP. */
  SPRAY_DETECTED: 'authn.spray.detected',
  /**
   * Failed sign-ins with many distinct accounts against one service, from many IPs: detector
   * `credential_stuffing`, keyed by the service.
   */
  CREDENTIAL_STUFFING_DETECTED: 'authn.credential_stuffing.detected',
  /**
   * A successful sign-in to an account shortly after a brute force against it was detected:
   * detector `success_after_brute_force`, keyed by the account. The likeliest account takeover.
   */
  BRUTEFORCE_SUCCESS_DETECTED: 'authn.bruteforce_success.detected',
  /**
   * Enforcement (`detectors({ enforce })`): an account is locked for one IP after `brute_force`
   * fired, its sign-ins from that IP refused with 429 until `lockout.until`. `user` and
   * `source.ip` name them, `lockout.key` is the detection's key.
   */
  LOCKOUT_SUCCESS: 'authn.lockout.success',
  /** A lockout ended (its time ran out): `lockout.key` names it, as its `authn.lockout.success` did. */
  LOCKOUT_END_SUCCESS: 'authn.lockout_end.success',
  /**
   * Bearer tokens signed with an algorithm the API does not allow (`none`, or outside its list):
   * detector `disallowed_algorithm`, keyed by the IP.
   */
  DISALLOWED_ALG_DETECTED: 'api.disallowed_alg.detected',
  /** A burst of bearer tokens with an invalid signature: detector `invalid_signature_burst`, keyed by the IP. */
  INVALID_SIGNATURE_DETECTED: 'api.invalid_signature.detected',
  DELIVERY_FAILURE: 'audit.delivery.failure',
  /**
   * The detectors' shared state (Redis) failed or was slow: they count in this process until it
   * answers again (`reason: store_unavailable` or `store_timeout`, `error.code`
   * `ERR_AUTHTRAIL_STORE_UNAVAILABLE`), seeing only this instance. Once per outage.
   */
  DETECTION_STATE_FAILURE: 'audit.detection_state.failure',
  /** The detectors' shared state answers again after an `audit.detection_state.failure`. */
  DETECTION_STATE_SUCCESS: 'audit.detection_state.success',
  /** Closes a hash chain (`reason: 'close'`) or marks a file rotation (`reason: 'rotation'`). */
  CHECKPOINT: 'audit.checkpoint.success',
  /** The store dropped a day partition older than its retention; `retention` says what it held. */
  RETENTION_SUCCESS: 'audit.retention.success',
  /** A retention run failed (`reason`, `error.code`); the partitions stay until the next run. */
  RETENTION_FAILURE: 'audit.retention.failure',
  /**
   * An auditor is alive and delivering: recorded every `heartbeat` seconds (default 60) by each
   * auditor, and once more when it closes (`reason: 'close'`: no further one is due). `heartbeat`
   * says when the next is due and what was recorded and dropped since the previous one.
   */
  HEARTBEAT: 'audit.heartbeat.success',
  /**
   * An instance's heartbeats stopped: detector `silent_pipeline`, keyed by the instance (its
   * service and `observer.instance`); the evidence is its last heartbeat.
   */
  SILENCE_DETECTED: 'audit.silence.detected',
  /**
   * Somebody read the audit trail through the console (PCI DSS 10.2.1.3: access to audit logs is
   * logged): `user` is who, `access` the view, the query (values that look like credentials
   * redacted), the range and how many results, `http` the call.
   */
  ACCESS_SUCCESS: 'audit.access.success',
  /**
   * A console call refused or failed: `reason` `session_missing` (401), `forbidden` (403: a role
   * short, or a cross-site or token-less change), `invalid_request` (400: a malformed query),
   * `token_invalid` (a wrong or spent sign-in token), `server_error` or `store_unavailable`.
   */
  ACCESS_FAILURE: 'audit.access.failure',
} as const;

export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

/** Why an event failed. A fixed list: dashboards and detectors group by it. */
export const Reasons = {
  // relying party: login and callback
  STATE_MISMATCH: 'state_mismatch',
  NONCE_MISMATCH: 'nonce_mismatch',
  MISSING_TRANSACTION: 'missing_transaction',
  IDP_ERROR: 'idp_error',
  CODE_EXCHANGE_FAILED: 'code_exchange_failed',
  ID_TOKEN_INVALID: 'id_token_invalid',
  // relying party: its own pages (a 401 to a browser nobody signed in on)
  SESSION_MISSING: 'session_missing',
  // resource server: bearer tokens
  TOKEN_MISSING: 'token_missing',
  TOKEN_MALFORMED: 'token_malformed',
  TOKEN_EXPIRED: 'token_expired',
  TOKEN_NOT_YET_VALID: 'token_not_yet_valid',
  SIGNATURE_INVALID: 'signature_invalid',
  ISSUER_MISMATCH: 'issuer_mismatch',
  AUDIENCE_MISMATCH: 'audience_mismatch',
  ALG_NOT_ALLOWED: 'alg_not_allowed',
  TOKEN_REVOKED: 'token_revoked',
  TOKEN_INVALID: 'token_invalid',
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  FORBIDDEN: 'forbidden',
  // provider side
  USER_DENIED: 'user_denied',
  INVALID_CREDENTIALS: 'invalid_credentials',
  // a sign-in refused unchecked (429): the account is locked for that IP (`detectors({ enforce })`)
  ACCOUNT_LOCKED: 'account_locked',
  TOKEN_REUSED: 'token_reused',
  // provider side: the token, revocation and introspection endpoints, named after the OAuth error
  // they answered (RFC 6749 section 5.2, RFC 7009, RFC 8707)
  INVALID_CLIENT: 'invalid_client',
  INVALID_GRANT: 'invalid_grant',
  INVALID_REQUEST: 'invalid_request',
  INVALID_SCOPE: 'invalid_scope',
  INVALID_TARGET: 'invalid_target',
  UNAUTHORIZED_CLIENT: 'unauthorized_client',
  UNSUPPORTED_GRANT_TYPE: 'unsupported_grant_type',
  UNSUPPORTED_TOKEN_TYPE: 'unsupported_token_type',
  // provider side: the authorization endpoint's own OAuth errors (RFC 6749 section 4.1.2.1, OAuth
  // response modes, OIDC Core 3.1.2.6, RFC 9101 / 9126, RFC 7591); it shares the ones above.
  // `access_denied` is `user_denied`.
  UNSUPPORTED_RESPONSE_TYPE: 'unsupported_response_type',
  UNSUPPORTED_RESPONSE_MODE: 'unsupported_response_mode',
  INVALID_REDIRECT_URI: 'invalid_redirect_uri',
  INVALID_CLIENT_METADATA: 'invalid_client_metadata',
  INVALID_REQUEST_OBJECT: 'invalid_request_object',
  INVALID_REQUEST_URI: 'invalid_request_uri',
  TEMPORARILY_UNAVAILABLE: 'temporarily_unavailable',
  // provider side: `prompt=none` could not be honoured (an expected answer to a silent sign-in check)
  LOGIN_REQUIRED: 'login_required',
  CONSENT_REQUIRED: 'consent_required',
  INTERACTION_REQUIRED: 'interaction_required',
  ACCOUNT_SELECTION_REQUIRED: 'account_selection_required',
  // anything else: the app failed in a way the response does not explain
  SERVER_ERROR: 'server_error',
  // delivery: a sink lost events (see `delivery.dropped`)
  EVENTS_DROPPED: 'events_dropped',
  // delivery: spilled records could not be read back and were quarantined (see `delivery.quarantined`)
  SPILL_UNREADABLE: 'spill_unreadable',
  // the store: a retention run could not reach it, or the detectors' shared state failed
  STORE_UNAVAILABLE: 'store_unavailable',
  // the detectors' shared state answered later than its time limit (`audit.detection_state.failure`)
  STORE_TIMEOUT: 'store_timeout',
  UNKNOWN: 'unknown',
} as const;

export type Reason = (typeof Reasons)[keyof typeof Reasons];

export type Outcome = 'success' | 'failure' | 'detected';

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}\.(success|failure|detected)$/;

/** True when `type` has the `<category>.<action>.<outcome>` shape (custom types are allowed). */
export function isEventType(type: unknown): type is string {
  return typeof type === 'string' && TYPE_PATTERN.test(type);
}

/** The outcome a type names: its last word (`authn.login.failure` -> `failure`). */
export function outcomeOf(type: string): Outcome {
  return type.slice(type.lastIndexOf('.') + 1) as Outcome;
}
