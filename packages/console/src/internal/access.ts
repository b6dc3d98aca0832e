// Every call of the console is itself an audit event (PCI DSS 10.2.1.3): who, which view, what
// query over which range, how many results, and whether it was answered.
import type { IncomingMessage } from 'node:http';
import { looksSecret } from '@authtrail/core';
import { isUuid, type AccessInfo, type ManualEvent } from '@authtrail/schema';
import { header } from './http.js';

/** The longest query text an access event keeps (a query is at most 2,000 characters). */
const MAX_QUERY = 512;

// A word of a query: a run without spaces or parentheses, a quoted part (spaces and all) included.
const WORD = /(?:[^\s()"]|"(?:[^"\\]|\\.)*"?)+/g;
const OPERATORS = new Set(['AND', 'OR', 'NOT']);

/**
 * A query as an access event may hold it. People paste what they are looking for, and that may be
 * a raw token, a cookie or a password:
 *
 * - a bare word (no `field:`) is refused by the query language, and is what a password pasted into
 *   the search box looks like: it becomes `[redacted]` (the operators AND, OR, NOT stay);
 * - a value (after `field:`) that looks generated rather than written, as core judges credentials
 *   in paths (`looksSecret`: JWTs, UUIDs, hex, random base64url runs), becomes `[redacted]`, its
 *   field kept (`token:[redacted]`);
 * - an `id:` that is a UUID stays: event ids are UUIDs, and the store holds no raw credential an
 *   id could find.
 *
 * What cannot be told from a name (a password typed as `user:Summer2024`) stays.
 */
export function redactQuery(text: string): string {
  const cut = text.length > MAX_QUERY ? text.slice(0, MAX_QUERY) : text;
  return cut.replace(WORD, (word) => {
    const colon = word.indexOf(':');
    const field =
      colon > 0 && /^-?[a-z]+$/.test(word.slice(0, colon)) ? word.slice(0, colon + 1) : '';
    if (field === '') return OPERATORS.has(word) ? word : '[redacted]';
    const value = word.slice(field.length);
    if ((field === 'id:' || field === '-id:') && isUuid(value)) return word;
    // Quotes and escapes do not hide a token: `"eyJ..."` and `ey\Jh...` are judged without them.
    return looksSecret(value) || looksSecret(value.replace(/["\\]/g, ''))
      ? `${field}[redacted]`
      : word;
  });
}

/** An event's id is kept (see above); a flow id, fingerprint or session id is judged as a value. */
function target(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  return isUuid(id) ? id : redactQuery(String(id).slice(0, 256));
}

export interface AccessFacts {
  ok: boolean;
  status: number;
  view: string;
  user?: { user: string; roles: readonly string[] };
  reason?: string;
  query?: string;
  target?: string;
  from?: Date;
  to?: Date;
  results?: number;
}

/**
 * Records one access event. The path is the console's own (base path and view), never the request
 * target: a sign-in URL carries the token in its query. Recording never breaks an answer.
 */
export function recordAccess(
  record: (event: ManualEvent) => void,
  req: IncomingMessage,
  path: string,
  started: number,
  facts: AccessFacts,
): void {
  const access: AccessInfo = {
    view: facts.view,
    query: facts.query === undefined ? undefined : redactQuery(facts.query),
    target: target(facts.target),
    from: facts.from?.toISOString(),
    to: facts.to?.toISOString(),
    results: facts.results,
  };
  try {
    record({
      type: facts.ok ? 'audit.access.success' : 'audit.access.failure',
      reason: facts.reason,
      user: facts.user && { id: facts.user.user, roles: [...facts.user.roles] },
      access,
      http: {
        method: req.method ?? 'GET',
        path,
        status: facts.status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      },
      source: {
        ip: req.socket.remoteAddress,
        user_agent: header(req, 'user-agent', 512),
      },
    });
  } catch {
    // A closed auditor refuses; the answer is not the place to fail for it.
  }
}
