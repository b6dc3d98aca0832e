import { EventTypes as T, Reasons as R, type AuditEvent } from '@authtrail/schema';
import { BoundedCache } from '../internal/bounded-cache.js';
import { auditUser } from '../internal/user.js';
import type { ResolvedOptions } from '../options.js';
import { clean, keyedHash } from '../redact.js';
import type { RequestFacts } from '../types.js';
import { requestEvent, type Emit } from './common.js';
import { startsWith, type ResolvedSignIn } from './sign-in-route.js';

/**
 * Audits the sign-in form. A failed sign-in names the account only when authtrail saw that account
 * sign in before (an interaction finished after that account name was posted, and the provider's
 * resume named the account): anything else the user typed is pseudonymised, since it is often a
 * mistyped password, or another person's address. The names are kept as keyed hashes only.
 */
export function createSignInEvents(
  o: ResolvedOptions,
  signIn: ResolvedSignIn,
  /** The provider's observer block when auditing one, else the relying party's. */
  observer: AuditEvent['observer'],
) {
  // The pseudonym key when there is one: then an attempted name that is an account's id gets the
  // same `user.hash` as that account's other events.
  const pseudonym = (value: string) => keyedHash(o.pseudonymKey ?? o.fingerprintKey, value);
  const hash = (value: string) => keyedHash(o.fingerprintKey, value);
  // Interaction id -> the account name posted when the interaction finished (hashed).
  const finishing = new BoundedCache<string, string>(10_000);
  // Account name (hashed) -> the account id the provider signed in with it.
  const known = new BoundedCache<string, string>(10_000);

  return {
    /**
     * Emits the event of a request on a sign-in route (a failed sign-in; none when the interaction
     * went on). False for any other request: it is not the sign-in form's.
     */
    event(f: RequestFacts, emit: Emit): boolean {
      let uid: string | undefined;
      let matched = false;
      const routes = signIn.routes;
      for (let i = 0; i < routes.length && !matched; i++) {
        const route = routes[i]!;
        if (route.method !== f.method || !startsWith(f.url, route.prefix)) continue;
        const m = route.path.exec(f.url);
        if (m) {
          matched = true;
          uid = m[1];
        }
      }
      if (!matched) return false;
      // A client that went away before the answer proved nothing about its password.
      if (f.aborted) return true;
      const attempted = accountOf(f.body, signIn.fields, o.limits.maxStringLength);
      const key = attempted === undefined ? undefined : hash(attempted);
      // A redirect finishes the interaction (on to the provider's resume): that login is the
      // provider's to record, with the account it signed in.
      if (f.status >= 300 && f.status < 400) {
        if (uid !== undefined && key !== undefined) finishing.set(uid, key);
        return true;
      }
      const e = requestEvent(o, observer, T.LOGIN_FAILURE, f);
      e.reason = f.status >= 500 ? R.SERVER_ERROR : R.INVALID_CREDENTIALS;
      const account = key === undefined ? undefined : known.get(key);
      if (account !== undefined) e.user = auditUser(o, { sub: account }, undefined);
      else if (attempted !== undefined) e.user = { hash: pseudonym(attempted) };
      emit(e);
      return true;
    },
    /** The provider resumed interaction `uid` with `accountId` signed in (the provider's events tell). */
    finished(uid: unknown, accountId: unknown): void {
      if (typeof uid !== 'string' || typeof accountId !== 'string') return;
      const key = finishing.get(uid);
      if (key !== undefined) known.set(key, accountId);
    },
  };
}

/** The account the user typed: the first non-empty field of `fields`, and nothing else of the body. */
function accountOf(body: unknown, fields: readonly string[], max: number): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  for (const name of fields) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value !== 'string') continue;
    const s = clean(value.trim(), max);
    if (s) return s;
  }
  return undefined;
}
