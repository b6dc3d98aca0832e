import { AuthtrailError, type LockHolder } from '@authtrail/core/sink';

/** `ERR_AUTHTRAIL_STORE_LOCKED`: who holds the store's directory, since when, and what to do. */
export function lockedError(
  root: string,
  lock: string,
  holder: LockHolder,
  readOnly: boolean,
): AuthtrailError {
  const where = holder.host === undefined ? '' : ` on host ${holder.host}`;
  const what = holder.command === undefined ? '' : ` (${holder.command})`;
  const since = holder.since === undefined ? '' : `, since ${holder.since}`;
  const who = `pid ${holder.pid}${where}${what}${since}`;
  let problem: string;
  let fix: string;
  if (holder.self) {
    problem = `the store at ${root} is open already in this process (pid ${holder.pid}): another embeddedStore of this directory holds it`;
    fix =
      'use one embeddedStore per directory in a process (storeSink and your queries can share it), or close() the other first';
  } else {
    problem = readOnly
      ? `cannot open the store at ${root} to read it: it is held by ${who}, and PGlite cannot share its files with the process writing them`
      : `the store at ${root} is held by ${who}; one process at a time writes to an embedded store`;
    if (holder.remote)
      fix = `that lock was taken on another host, whose processes cannot be checked from here: stop that process; if that host (or container) is gone, remove ${lock}`;
    else
      fix = readOnly
        ? 'query through that app (its store.query()), or stop it and run this again; for several processes on one store, use PostgreSQL (@authtrail/store-postgres)'
        : 'stop that process, or query through it (its store.query()); for several processes writing to one store, use PostgreSQL (@authtrail/store-postgres)';
  }
  return new AuthtrailError('ERR_AUTHTRAIL_STORE_LOCKED', `embeddedStore: ${problem}. Fix: ${fix}`);
}
