import { AuthtrailError } from '@authtrail/core/sink';

/** What messages may say of a server: host, port, database and user, never the password. */
export interface Target {
  readonly shown: string;
  /** The password, if the connection string has one: scrubbed from every message, should a driver echo it. */
  readonly secret: string | undefined;
}

/** The target of a connection string, for messages: `postgres://user@host:port/db`. */
export function targetOf(connectionString: string | undefined): Target {
  if (connectionString === undefined) return { shown: 'the pool you passed', secret: undefined };
  try {
    const url = new URL(connectionString);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    const secret = url.password ? decodeURIComponent(url.password) : undefined;
    return { shown: `${url.protocol}//${user}${url.host || 'localhost'}${url.pathname}`, secret };
  } catch {
    // A libpq keyword string (`host=... password=...`): not shown at all, it may hold the password.
    const secret = /password\s*=\s*'?([^'\s]+)/.exec(connectionString)?.[1];
    return { shown: 'the connection string (keyword form)', secret };
  }
}

// Node's network errors, and pg's own when a connection drops or never comes up.
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'ENETUNREACH',
]);
const DROPPED =
  /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|Connection terminated due to connection timeout/i;

function fixFor(sqlState: string | undefined, code: string | undefined): string {
  if (sqlState?.startsWith('28'))
    return 'check the user and password of the connection string (and pg_hba.conf on the server)';
  if (sqlState === '3D000')
    return 'create the database (createdb) or name an existing one in the connection string';
  if (sqlState === '57P03' || sqlState === '57P01')
    return 'the server is starting or shutting down: the auditor retries the batch; nothing to do if it comes back';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return 'check the host name of the connection string';
  return 'start PostgreSQL, or fix the host and port of the connection string (option connectionString, or AUTHTRAIL_STORE for the CLI)';
}

/** The typed error for anything `pg` threw: unavailable (network, auth, no database) or refused statement. */
export function storeError(error: unknown, target: Target, doing: string): AuthtrailError {
  if (error instanceof AuthtrailError) return error;
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(error);
  // A SQLSTATE is five characters; Node's codes start with E and are longer.
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const unavailable =
    (code !== undefined && NETWORK.has(code)) ||
    DROPPED.test(raw) ||
    (sqlState !== undefined && /^(08|28|3D|57P)/.test(sqlState));
  let message = unavailable
    ? `postgresStore: cannot ${doing}: PostgreSQL at ${target.shown} is unavailable (${code ?? raw}); ${fixFor(sqlState, code)}`
    : `postgresStore: PostgreSQL at ${target.shown} refused to ${doing}: ${sqlState ?? code ?? ''} ${raw}`;
  if (target.secret !== undefined && target.secret.length > 0)
    message = message.split(target.secret).join('***');
  return new AuthtrailError(
    unavailable ? 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' : 'ERR_AUTHTRAIL_STORE_FAILED',
    message,
  );
}
