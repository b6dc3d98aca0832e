import type { AuditEvent } from '@authtrail/schema';
import { routeKind } from '../classify.js';
import { observers } from '../event.js';
import type { ResolvedOptions } from '../options.js';
import { keyedHash } from '../redact.js';
import { bearerToken } from '../token/inspect.js';
import type { RequestFacts } from '../types.js';
import type { Emit } from './common.js';
import { createOpEvents } from './op.js';
import { createRpEvents } from './rp.js';
import { createRsEvents } from './rs.js';
import { createSignInEvents } from './sign-in.js';

export type { Emit } from './common.js';

/**
 * Builds the audit events of one finished request and hands each to `emit`: none when the request
 * is not an auth event, usually one, several for a provider request that completed several steps.
 * An event waiting for authtrail's own verification of a token it has not seen yet is emitted when
 * that settles (the response never waits); `later` is told of it at once, so that a flush can wait.
 */
export interface EventBuilder {
  (facts: RequestFacts, emit: Emit): void;
  /**
   * With `signIn`: the account a sign-in form's body names, as its failure event would (`user`).
   * For the sign-in guard, before the app checks the password.
   */
  readonly attempter?: (body: unknown) => AuditEvent['user'] | undefined;
}

/**
 * The event builder of an auditor: the sign-in form's events, then the provider's (auditing an
 * OP), else the relying party's routes and redirects, else the resource server's bearer-token
 * requests. Everything is set up here, once; a request only looks things up.
 */
export function createEventBuilder(
  o: ResolvedOptions,
  later: (pending: Promise<void>) => void,
): EventBuilder {
  const observer = observers(o);
  const hash = (value: string) => keyedHash(o.fingerprintKey, value);
  const signIn = o.signIn
    ? createSignInEvents(o, o.signIn, o.provider ? observer.op : observer.rp)
    : undefined;
  const op = o.provider ? createOpEvents(o, observer.op, hash, signIn?.finished) : undefined;
  const rp = createRpEvents(o, observer.rp, hash);
  const rs = createRsEvents(o, observer.rs, hash, later);

  function buildEvents(f: RequestFacts, emit: Emit): void {
    if (signIn !== undefined && signIn.event(f, emit)) return;
    if (op !== undefined) return op(f, emit);
    const kind = routeKind(o.routes, f.url);
    if (kind !== undefined) return emit(rp.route(f, kind));
    if (f.status >= 300 && f.status < 400) {
      // The login route's own redirect is its login start already (one start per login).
      const start = rp.redirectStart(f);
      if (start !== undefined) return emit(start);
    }
    const token = bearerToken(f.headers.authorization);
    if (token === undefined) {
      // Requests without a bearer token are auth events only when the app refused them.
      if (f.status !== 401 && f.status !== 403) return;
      if (rp.refusedPage(f)) return emit(rp.sessionFailure(f));
    }
    rs(f, token, emit);
  }
  return signIn ? Object.assign(buildEvents, { attempter: signIn.attempter }) : buildEvents;
}
