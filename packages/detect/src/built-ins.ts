import { EventTypes as T, Reasons as R, type AuditEvent } from '@authtrail/schema';
import { DEFAULT_ALGORITHMS } from '@authtrail/core/sink';
import { accountOf, isBadCredentials, isLogin, networkOf } from './internal/evidence.js';
import type { ResolvedBuiltIns } from './options.js';
import type { Detector } from './types.js';

/**
 * The algorithms a bearer token may be signed with when `disallowed_algorithm.allow` is not given:
 * the asymmetric ones core's own verifier accepts by default (RFC 8725 section 3.1: an API names
 * the algorithms it expects; `none` and the HMAC ones, which a public key can forge, are not).
 */
export const DEFAULT_ALLOWED_ALGORITHMS: readonly string[] = DEFAULT_ALGORITHMS;

/** The built-in detectors as configured, in a fixed order; `hash` is the auditor's fingerprint. */
export function builtInDetectors(o: ResolvedBuiltIns, hash: (value: string) => string): Detector[] {
  const account = (e: AuditEvent) => accountOf(e, hash);
  const list: Detector[] = [];
  const brute = o.brute_force;
  if (brute)
    /**
     * brute_force: 10 failed sign-ins in a row for one account from one IP within 15 minutes; a
     * successful sign-in from that IP starts the count again. Auth0's brute-force protection
     * blocks an account for an IP after 10 consecutive failures; PCI DSS 4.0 requirement 8.3.4
     * locks an account out after at most 10 failed attempts.
     */
    list.push({
      name: 'brute_force',
      type: T.BRUTEFORCE_DETECTED,
      severity: brute.severity,
      rule: { kind: 'consecutive', threshold: brute.threshold, window_s: brute.window_s },
      read(e) {
        const bad = isBadCredentials(e);
        if (!bad && !isLogin(e)) return undefined;
        const who = account(e);
        const ip = e.source?.ip;
        if (who === undefined || ip === undefined) return undefined;
        return { key: `${who}\u0000${ip}`, reset: !bad };
      },
    });
  const spread = o.distributed_brute_force;
  if (spread)
    /**
     * distributed_brute_force: 30 failed sign-ins for one account from any IPs within 12 hours.
     * Keycloak's brute-force detection: 30 failures, counts reset after 12 hours.
     */
    list.push({
      name: 'distributed_brute_force',
      type: T.BRUTEFORCE_DETECTED,
      severity: spread.severity,
      rule: { kind: 'count', threshold: spread.threshold, window_s: spread.window_s },
      subject: ['user', 'client'],
      read(e) {
        const who = isBadCredentials(e) ? account(e) : undefined;
        return who === undefined ? undefined : { key: who };
      },
    });
  const spray = o.password_spraying;
  if (spray)
    /**
     * password_spraying: failed sign-ins for 15 distinct accounts from one IP within 5 minutes
     * (Microsoft Sentinel's and Okta's password-spray rules: more than 15 users in 5 minutes), or
     * 100 failed sign-ins from one IP within 24 hours (Auth0's suspicious-IP throttling: 100 a
     * day).
     */
    list.push({
      name: 'password_spraying',
      type: T.SPRAY_DETECTED,
      severity: spray.severity,
      rule: [
        { kind: 'distinct', threshold: spray.threshold, window_s: spray.window_s },
        ...(spray.failures
          ? [
              {
                kind: 'count' as const,
                threshold: spray.failures.threshold,
                window_s: spray.failures.window_s,
              },
            ]
          : []),
      ],
      subject: ['ip', 'client'],
      read(e) {
        const ip = isBadCredentials(e) ? e.source?.ip : undefined;
        if (ip === undefined) return undefined;
        return { key: ip, value: account(e) ?? '' };
      },
    });
  const stuffing = o.credential_stuffing;
  if (stuffing)
    /**
     * credential_stuffing: a surge of failed sign-ins against the service (the observer's
     * `service`, so instances sharing a state count together): 50 within 5 minutes and 3 times the
     * hour before's rate, while at least half of the latest failures are of distinct accounts.
     * MONITORING's source, Okta ThreatInsight, publishes no number. "Most accounts unknown" is
     * what a list of leaked pairs gives, but no event says whether an account exists (the
     * provider's form answers the same for both; a `user.hash` only means authtrail has not seen
     * that name sign in), so the share of distinct accounts stands in for it: a list tries each
     * pair once (share near 1; 0.5 with two passwords per account), a person retrying a password
     * gives about a third, a brute force on one account 1 in 50.
     */
    list.push({
      name: 'credential_stuffing',
      type: T.CREDENTIAL_STUFFING_DETECTED,
      severity: stuffing.severity,
      rule: {
        kind: 'surge',
        threshold: stuffing.threshold,
        window_s: stuffing.window_s,
        factor: stuffing.factor,
        baseline_s: stuffing.baseline_s,
        ...(stuffing.distinct > 0 ? { distinct: stuffing.distinct } : {}),
      },
      // The last failure's account, client or IP is one of many: the decision names none.
      subject: [],
      read(e) {
        if (!isBadCredentials(e)) return undefined;
        return { key: e.observer.service, value: account(e) ?? '' };
      },
    });
  const after = o.success_after_brute_force;
  if (after)
    /**
     * success_after_brute_force: a successful sign-in to an account within 10 minutes after a
     * brute force against it was detected (`brute_force` or `distributed_brute_force` fired): the
     * likeliest account takeover. Sigma's correlation rules give it as their example.
     */
    list.push({
      name: 'success_after_brute_force',
      type: T.BRUTEFORCE_SUCCESS_DETECTED,
      severity: after.severity,
      rule: {
        kind: 'sequence',
        within_s: after.within_s,
        after: ['brute_force', 'distributed_brute_force'],
      },
      read(e, cause) {
        if (cause === undefined && !isLogin(e)) return undefined;
        const who = account(e);
        return who === undefined ? undefined : { key: who, step: cause ? 'a' : 'b' };
      },
    });
  const alg = o.disallowed_algorithm;
  if (alg) {
    const allow = new Set(alg.allow);
    /**
     * disallowed_algorithm: one bearer token signed with `none` or an algorithm outside the allow
     * list, or refused by the verifier for its algorithm (`alg_not_allowed`), from one IP (RFC 8725
     * section 3.1). Once per IP until 10 minutes pass without another.
     */
    list.push({
      name: 'disallowed_algorithm',
      type: T.DISALLOWED_ALG_DETECTED,
      severity: alg.severity,
      rule: { kind: 'count', threshold: 1, window_s: alg.window_s },
      subject: ['ip', 'token'],
      read(e) {
        const ip = e.source?.ip;
        if (ip === undefined || !e.type.startsWith('api.')) return undefined;
        const used = e.oauth?.token?.alg;
        const refused =
          e.reason === R.ALG_NOT_ALLOWED ||
          (used !== undefined && (used.toLowerCase() === 'none' || !allow.has(used)));
        return refused ? { key: ip } : undefined;
      },
    });
  }
  const sig = o.invalid_signature_burst;
  if (sig)
    /**
     * invalid_signature_burst: bearer tokens with an invalid signature from one IP, as a leaky
     * bucket of 5 leaking one every 10 seconds: it fires on the 6th within the leak (CrowdSec's
     * http brute-force scenarios: capacity 5, leakspeed 10s).
     */
    list.push({
      name: 'invalid_signature_burst',
      type: T.INVALID_SIGNATURE_DETECTED,
      severity: sig.severity,
      rule: { kind: 'bucket', capacity: sig.capacity, leak_s: sig.leak_s },
      subject: ['ip'],
      read(e) {
        const ip = e.source?.ip;
        return e.type === T.API_AUTHN_FAILURE && e.reason === R.SIGNATURE_INVALID && ip
          ? { key: ip }
          : undefined;
      },
    });
  const replay = o.access_token_replay;
  if (replay)
    /**
     * access_token_replay: one access token used from a second network (another /24, or /64 for
     * IPv6) while it is valid. authtrail's own rule (no product publishes one): a bearer token is
     * not bound to its client, so a copy used elsewhere works until it expires. Uses after the
     * token's `expires_at` are not counted; `window_s` bounds how long a token without one is
     * remembered.
     */
    list.push({
      name: 'access_token_replay',
      type: T.TOKEN_REPLAY_DETECTED,
      severity: replay.severity,
      rule: { kind: 'distinct', threshold: 2, window_s: replay.window_s },
      subject: ['token', 'user', 'client', 'ip'],
      read(e) {
        // Accepted uses only: a refused token proves nothing about where the real one is.
        if (e.type !== T.API_ACCESS_SUCCESS && e.type !== T.API_AUTHZ_FAILURE) return undefined;
        const token = e.oauth?.token;
        const ip = e.source?.ip;
        if (token?.type !== 'access_token' || !token.fingerprint || ip === undefined)
          return undefined;
        if (token.expires_at !== undefined && Date.parse(token.expires_at) <= Date.parse(e.time))
          return undefined;
        const network = networkOf(ip);
        return network === undefined ? undefined : { key: token.fingerprint, value: network };
      },
    });
  const reuse = o.refresh_token_reuse;
  if (reuse)
    /**
     * refresh_token_reuse: a refresh token presented again after the provider rotated or revoked
     * it, each time, keyed by the token's fingerprint (Auth0's and Okta's reuse detection; the
     * OAuth 2.0 Security BCP, RFC 9700 section 4.14.2: a rotated token used again means a copy is
     * in other hands). Reads the provider's events: a refresh that rotated a token names it in
     * `oauth.presented`, a revocation in `oauth.token`; a refresh presenting it later (its
     * `oauth.token`) fires. The provider's own word (a failure with `reason: token_reused`: it
     * still held the token, consumed) fires at once, even when no rotation was seen here. A token
     * is remembered for `window_s`, 30 days by default: the absolute lifetime of Auth0's rotating
     * refresh tokens, past which the token would be refused as expired anyway.
     */
    list.push({
      name: 'refresh_token_reuse',
      type: T.TOKEN_REUSE_DETECTED,
      severity: reuse.severity,
      rule: { kind: 'sequence', within_s: reuse.window_s, repeat: true },
      subject: ['token', 'user', 'client', 'ip'],
      read(e) {
        // The provider's events only: an RP's refresh names the token it spent whether or not the
        // provider rotated it, and its failure is the provider's seen a second time.
        if (e.observer.role !== 'op') return undefined;
        if (e.type === T.TOKEN_REVOKE_SUCCESS) {
          const revoked = e.oauth?.token?.fingerprint;
          return revoked ? { key: revoked, step: 'a' } : undefined;
        }
        if (e.type === T.TOKEN_REFRESH_SUCCESS) {
          const spent = e.oauth?.presented?.fingerprint;
          // A superseded token the provider still accepted is a use too; then it is superseded.
          return spent
            ? [
                { key: spent, step: 'b' },
                { key: spent, step: 'a' },
              ]
            : undefined;
        }
        const token = e.type === T.TOKEN_REFRESH_FAILURE ? e.oauth?.token : undefined;
        if (token?.type !== 'refresh_token' || !token.fingerprint) return undefined;
        if (e.reason !== R.TOKEN_REUSED) return { key: token.fingerprint, step: 'b' };
        // Step `a` first: it keeps the rotation's evidence when one was seen, or starts it here.
        return [
          { key: token.fingerprint, step: 'a' },
          { key: token.fingerprint, step: 'b' },
        ];
      },
    });
  const silent = o.silent_pipeline;
  if (silent)
    /**
     * silent_pipeline: an instance whose heartbeats (`audit.heartbeat.success`, every auditor's,
     * each saying when the next is due) stopped for 3 of its intervals: its logging failed or the
     * process is gone without closing (PCI DSS 4.0 10.7.2: failures of audit logging are detected).
     * Keyed by the service and instance; the evidence is the last heartbeat. A heartbeat that
     * closes the auditor (`reason: 'close'`) ends the watch: a stop on purpose is not a failure.
     */
    list.push({
      name: 'silent_pipeline',
      type: T.SILENCE_DETECTED,
      severity: silent.severity,
      rule: { kind: 'silence', missed: silent.missed },
      // The silent instance is in the evidence (the last heartbeat's observer), not the decision.
      subject: [],
      read(e) {
        const beat = e.heartbeat;
        if (e.type !== T.HEARTBEAT || !beat) return undefined;
        return {
          key: `${e.observer.service}\u0000${e.observer.instance}`,
          every_s: beat.interval_s,
          ...(e.reason === 'close' ? { reset: true } : {}),
        };
      },
    });
  return list;
}
