import type { AuditEvent } from '@authtrail/schema';
import type { ResolvedOptions } from '../options.js';
import { clean, cleanList, keyedHash } from '../redact.js';

/** Who an event is about, as claims or a manual event name them. */
export interface UserFacts {
  readonly sub?: unknown;
  readonly name?: unknown;
  readonly email?: unknown;
}

/**
 * The `user` block of every event, built from a request or recorded by the app: one function so that
 * `pseudonymize` and `profile` mean the same everywhere. The subject becomes `id`, or with
 * `pseudonymize` only its keyed hash (`hash`); `name` and `email` are kept only with `profile`
 * (which `pseudonymize` excludes); roles are bounded. Undefined when there is neither subject nor role.
 */
export function auditUser(o: ResolvedOptions, who: UserFacts, roles: unknown): AuditEvent['user'] {
  const sub = clean(who.sub, 256);
  const list = cleanList(roles, 50, 128);
  if (sub === undefined && list === undefined) return undefined;
  if (o.pseudonymize)
    return { hash: sub === undefined ? undefined : keyedHash(o.pseudonymKey!, sub), roles: list };
  const max = o.limits.maxStringLength;
  return {
    id: sub,
    name: o.profile ? clean(who.name, max) : undefined,
    email: o.profile ? clean(who.email, max) : undefined,
    roles: list,
  };
}
