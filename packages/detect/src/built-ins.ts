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
  return list;
}
