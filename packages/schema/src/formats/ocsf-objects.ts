import type { AuditEvent } from '../types.js';

type Json = Record<string, unknown>;

// OCSF 1.3.0's `email_t` pattern (dictionary.json). It leaves out internationalised addresses and
// dotless domains (`ops@localhost`): such an address is not an `email_addr`.
const EMAIL = /^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

/** The OCSF User object of the event's user; undefined when nothing identifies them. */
export function ocsfUser(user: AuditEvent['user']): Json | undefined {
  if (!user) return undefined;
  const uid = user.id ?? user.hash;
  if (uid === undefined && user.name === undefined && user.email === undefined) return undefined;
  return {
    uid,
    // The User object needs one of account, name or uid. Without an id, the name the person is
    // known by stands in: the e-mail (what they sign in with), else the OIDC `name` claim.
    name: uid === undefined ? (user.email ?? user.name) : undefined,
    // A pseudonymised subject: the keyed hash stands in for the id, and says so.
    uid_alt: user.id === undefined ? undefined : user.hash,
    full_name: user.name,
    email_addr: user.email !== undefined && EMAIL.test(user.email) ? user.email : undefined,
    groups: user.roles?.map((name) => ({ name })),
    type_id: 1,
    type: 'User',
  };
}

/**
 * An API request's verdict as the Security Control profile states it: what the control did
 * (`action_id`) and how the request ended (`disposition_id`).
 */
export function securityControl(event: AuditEvent, action: string): Json {
  const [actionId, dispositionId, disposition] =
    event.outcome === 'success'
      ? [1, 1, 'Allowed']
      : event.reason === 'server_error'
        ? // The request passed the control and then failed in the app.
          [1, 27, 'Error']
        : action === 'authz'
          ? [2, 26, 'Unauthorized']
          : [2, 2, 'Blocked'];
  return {
    action_id: actionId,
    action: actionId === 1 ? 'Allowed' : 'Denied',
    disposition_id: dispositionId,
    disposition,
  };
}
