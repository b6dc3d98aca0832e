import { EventTypes as T, Reasons as R, type AuditEvent } from '@authtrail/schema';
import { BoundedCache } from '../internal/bounded-cache.js';
import { auditUser } from '../internal/user.js';
import type { ResolvedOptions } from '../options.js';
import { LOCKED_KEY } from '../node/symbols.js';
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
  /** An attempted name (and its hash) as an event names it: its account's id once known, else its pseudonym. */
  const userOf = (attempted: string, key: string): AuditEvent['user'] => {
    const account = known.get(key);
    return account !== undefined
      ? auditUser(o, { sub: account }, undefined)
      : { hash: pseudonym(attempted) };
  };

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
      // Refused by the sign-in guard (enforcement): the password was never checked.
      const locked = (f.request as { [LOCKED_KEY]?: number } | undefined)?.[LOCKED_KEY];
      e.reason =
        locked !== undefined
          ? R.ACCOUNT_LOCKED
          : f.status >= 500
            ? R.SERVER_ERROR
            : R.INVALID_CREDENTIALS;
      if (attempted !== undefined) e.user = userOf(attempted, key!);
      emit(e);
      return true;
    },
    /**
     * The account a sign-in form's body names, as the failure of that attempt would name it (its
     * `user`): what the sign-in guard is asked about before the app checks the password.
     */
    attempter(body: unknown): AuditEvent['user'] | undefined {
      const attempted = accountOf(body, signIn.fields, o.limits.maxStringLength);
      return attempted === undefined ? undefined : userOf(attempted, hash(attempted));
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
