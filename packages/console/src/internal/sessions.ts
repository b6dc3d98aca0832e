// Console sessions: in memory, bounded, with an idle and an absolute lifetime. A session id is 256
// random bits; the map is keyed by its SHA-256, so neither a lookup's timing nor a heap dump of the
// map gives an id back.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  readonly user: string;
  readonly roles: readonly string[];
  /** The CSRF token `GET api/me` hands out, required on every state-changing request. */
  readonly csrf: string;
  readonly created: number;
  seen: number;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** Two secrets compared in constant time (their digests, so the lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function sessions(max: number, idleMs: number, absoluteMs: number) {
  const held = new Map<string, Session>();
  const key = (id: string) => digest(id).toString('base64');
  return {
    /** A new session: its id (for the cookie only) and the session. The oldest goes when full. */
    open(user: string, roles: readonly string[], now: number): { id: string; session: Session } {
      while (held.size >= max) held.delete(held.keys().next().value!);
      const id = randomBytes(32).toString('base64url');
      const session: Session = {
        user,
        roles,
        csrf: randomBytes(32).toString('base64url'),
        created: now,
        seen: now,
      };
      held.set(key(id), session);
      return { id, session };
    },
    /** The live session of a cookie value, its idle time reset; ended ones are forgotten. */
    find(id: string | undefined, now: number): Session | undefined {
      if (id === undefined || id.length !== 43) return undefined;
      const k = key(id);
      const session = held.get(k);
      if (!session) return undefined;
      if (now - session.seen > idleMs || now - session.created > absoluteMs) {
        held.delete(k);
        return undefined;
      }
      session.seen = now;
      return session;
    },
    end(id: string | undefined): void {
      if (id !== undefined) held.delete(key(id));
    },
    clear: () => held.clear(),
    get size() {
      return held.size;
    },
  };
}

export type Sessions = ReturnType<typeof sessions>;
