import { EventTypes as T, Reasons as R, type AuditEvent } from '@authtrail/schema';

/**
 * A guess at a password that failed: `authn.login.failure` with `invalid_credentials`, as the
 * provider's own sign-in form (`signIn`) records it, or an app's login form through `record()`.
 * The relying party's other login failures (`state_mismatch`, `idp_error`, `nonce_mismatch`, ...)
 * are not the user's guess, and a form that failed with `server_error` proved nothing.
 */
export function isBadCredentials(e: AuditEvent): boolean {
  return e.type === T.LOGIN_FAILURE && e.reason === R.INVALID_CREDENTIALS;
}

/** A sign-in that succeeded (the relying party's callback, the provider's resume). */
export function isLogin(e: AuditEvent): boolean {
  return e.type === T.LOGIN_SUCCESS;
}

/**
 * The account an event is about, one name whichever way the event carries it. A sign-in form's
 * failure carries the attempted name as `user.hash` (keyed with the pseudonym key, else the
 * fingerprint key) until that account has signed in, then its `user.id`; `hash` turns an id into
 * that same form (with the fingerprint key), so both count as one account when no separate
 * pseudonym key is set. With `pseudonymize`, every event carries the hash.
 */
export function accountOf(e: AuditEvent, hash: (value: string) => string): string | undefined {
  const user = e.user;
  if (!user) return undefined;
  if (user.hash) return user.hash;
  if (user.id) return hash(user.id);
  return undefined;
}

/** The network an address is in: its /24 (IPv4) or /64 (IPv6); undefined when it is not an address. */
export function networkOf(ip: string): string | undefined {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  const hextets = expandIpv6(ip);
  return hextets && `${hextets.slice(0, 4).join(':')}::/64`;
}

/** The 8 hextets of an IPv6 address (zone and embedded IPv4 tail allowed), lower case, unpadded. */
function expandIpv6(ip: string): string[] | undefined {
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  if (bare.length > 45 || !/^[0-9a-f:.]+$/.test(bare)) return undefined;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const last = tail.length > 0 ? tail : head;
  // An IPv4 tail (::ffff:1.2.3.4 is handled as IPv4 above) takes two hextets.
  if (last.length > 0 && last[last.length - 1]!.includes('.')) last.splice(-1, 1, '0', '0');
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((h) => /^[0-9a-f]{1,4}$/.test(h))) return undefined;
  return all.map((h) => h.replace(/^0+(?=.)/, ''));
}
