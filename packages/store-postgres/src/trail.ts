import { isUuid } from '@authtrail/schema';
import { AuthtrailError, shapeOf, type AuditEvent } from '@authtrail/core/sink';
import type { TimeRange, Trail } from '@authtrail/store';
import type pg from 'pg';
import { Params, rowId, uuidv7Time } from './sql.js';

// Every query of a trail is bounded in time so that PostgreSQL plans and scans only the day
// partitions of the window. Measured on PostgreSQL 15 with 1M-5M events (docs/ARCHITECTURE.md):
// unbounded, a trail planned over every partition took 64-170 ms p95; bounded to +-1 day, 2-11 ms.
const DAY_MS = 86_400_000;
// A login flow lasts minutes and a session's activity is read around one event: a day either
// side of the anchor holds them, and crosses a UTC midnight whichever side the anchor is on.
const AROUND_MS = DAY_MS;
// A token's life runs to its `expires_at`; a refresh token's may be months, so the window stops
// this far past the anchor (pass `to` for more).
const TOKEN_MAX_MS = 30 * DAY_MS;
// Where a flow id, fingerprint or session id is looked up when no `from`/`to` is given: its
// newest event is most often recent. Only when none is found there is every partition searched.
const LOOKBACK_MS = 7 * DAY_MS;
// A trail is a few to a few hundred events; this bounds a runaway one.
const TRAIL_MAX = 10_000;

type Run = <R extends pg.QueryResultRow>(
  doing: string,
  sql: string,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;

/** A window `[from, before)` of event time; an open side is undefined. */
interface Window {
  from: Date | undefined;
  before: Date | undefined;
}

function instant(value: Date | string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_QUERY',
      `postgresStore: \`${name}\` is not a date; use a Date or an ISO-8601 string`,
    );
  return date;
}

/** The `time` conditions of a window (none for an open side). */
function bounded(params: Params, window: Window): string[] {
  const parts: string[] = [];
  if (window.from) parts.push(`time >= ${params.add(window.from)}`);
  if (window.before) parts.push(`time < ${params.add(window.before)}`);
  return parts;
}

/**
 * An event's flow, token life and session, each in time order. Every query is bounded by time:
 * - an event id: the event is looked for in its UUIDv7 time +-1 day (then, for an id made apart
 *   from its time, as any other id below); its flow and session are read within its time +-1 day, its token's
 *   life from a day before it to a day past the token's `expires_at` (at most 30 days on);
 * - a flow id, fingerprint or session id: the newest matching event is looked up in `from`/`to`,
 *   or when neither is given in the last 7 days and then (none found) everywhere; each part is
 *   read within that newest event's time +-1 day.
 * `from` / `to`, when given, replace the window's bound on their side (`to` excluded).
 */
export async function readTrail(
  run: Run,
  table: string,
  id: string,
  range: TimeRange,
  now: number,
): Promise<Trail> {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512)
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_INVALID_QUERY',
      `postgresStore: trail(${shapeOf(id)}); pass an event id, flow id, token fingerprint or session id`,
    );
  const from = instant(range.from, 'from');
  const to = instant(range.to, 'to');
  // A window of [lo, hi] milliseconds, each side replaced by the caller's bound when given.
  const clip = (lo: number, hi: number): Window => ({
    from: from ?? new Date(lo),
    before: to ?? new Date(hi + 1),
  });

  let event: AuditEvent | undefined;
  // Each part's key and window; a part without one is empty.
  let keys: { flow: string | null; token: string | null; session: string | null } | undefined;
  let windows: { flow?: Window; token?: Window; session?: Window } = {};

  /** The event named `id` in `search`: its parts' keys and windows. */
  const findEvent = async (search: Window): Promise<boolean> => {
    const params = new Params();
    const parts = [`id = ${params.add(uuid)}`, ...bounded(params, search)];
    const { rows } = await run<{
      event: AuditEvent;
      time: Date;
      flow_id: string | null;
      token_fp: string | null;
      session_id: string | null;
    }>(
      'find an event',
      `SELECT event, time, flow_id, token_fp, session_id FROM ${table} WHERE ${parts.join(' AND ')} LIMIT 1`,
      params.values,
    );
    const row = rows[0];
    if (!row) return false;
    event = row.event;
    keys = { flow: row.flow_id, token: row.token_fp, session: row.session_id };
    const at = row.time.getTime();
    const expires = Date.parse(event.oauth?.token?.expires_at ?? '');
    const tokenEnd = Number.isNaN(expires)
      ? at
      : Math.min(Math.max(at, expires), at + TOKEN_MAX_MS);
    windows = {
      flow: clip(at - AROUND_MS, at + AROUND_MS),
      token: clip(at - AROUND_MS, tokenEnd + AROUND_MS),
      session: clip(at - AROUND_MS, at + AROUND_MS),
    };
    return true;
  };

  /**
   * What `id` names in `search`: the time of the event with that id, and of the newest event with
   * it as flow id, token fingerprint, session id. One statement, so one plan over the partitions
   * in its bounds (over 301 partitions, one statement a question took 272 ms p95, this one 61).
   */
  const findAny = async (search: Window): Promise<boolean> => {
    const params = new Params();
    const u = params.add(uuid);
    const k = params.add(id);
    const token = `(token_fp = ${k} OR (event #>> '{oauth,presented,fingerprint}') = ${k})`;
    const { rows } = await run<{
      event: Date | null;
      flow: Date | null;
      token: Date | null;
      session: Date | null;
    }>(
      'find a trail',
      `SELECT max(time) FILTER (WHERE id = ${u}) AS event, max(time) FILTER (WHERE flow_id = ${k}) AS flow,
              max(time) FILTER (WHERE ${token}) AS token, max(time) FILTER (WHERE session_id = ${k}) AS session
         FROM ${table}
        WHERE ${[`(id = ${u} OR flow_id = ${k} OR ${token} OR session_id = ${k})`, ...bounded(params, search)].join(' AND ')}`,
      params.values,
    );
    const found = rows[0]!;
    if (found.event !== null) {
      // Its partition only: time is stored to the microsecond, the Date read back to the ms.
      const at = found.event.getTime();
      return findEvent({ from: new Date(at - 1), before: new Date(at + 1) });
    }
    if (found.flow === null && found.token === null && found.session === null) return false;
    const around = (time: Date | null): Window | undefined =>
      time === null ? undefined : clip(time.getTime() - AROUND_MS, time.getTime() + AROUND_MS);
    keys = { flow: found.flow && id, token: found.token && id, session: found.session && id };
    windows = {
      flow: around(found.flow),
      token: around(found.token),
      session: around(found.session),
    };
    return true;
  };

  // Where to look for what `id` names: within `from`/`to` when given, else the last 7 days, then
  // (nothing there) every partition. Measured over 301 day partitions of 300k events, p95: 2 ms
  // for a flow of the last 7 days, 61 ms for an older one without from/to (the unbounded trail
  // before windows: 102 ms), 4 ms for one with from/to.
  const searches: Window[] =
    from || to
      ? [{ from, before: to }]
      : [
          { from: new Date(now - LOOKBACK_MS), before: undefined },
          { from: undefined, before: undefined },
        ];
  const uuid = isUuid(id) ? id : rowId(id);
  const t = uuidv7Time(uuid);
  // A UUIDv7 names its millisecond, from the clock reading that gave its event its time: a day
  // either side keeps the lookup to three partitions, whatever the caller's range (it bounds the
  // parts of a trail, not the event named). Any other id (flow and session ids, fingerprints, an
  // id made apart from its time by a test clock) is looked for in each search window in turn.
  if (
    t === undefined ||
    !(await findEvent({ from: new Date(t - DAY_MS), before: new Date(t + DAY_MS + 1) }))
  )
    for (const search of searches) if (await findAny(search)) break;
  const k = keys ?? { flow: null, token: null, session: null };
  const w = windows;

  const of = async (
    match: (p: Params, key: string) => string,
    key: string | null,
    window: Window | undefined,
  ) => {
    if (key === null || window === undefined) return [];
    const params = new Params();
    const parts = [match(params, key), ...bounded(params, window)];
    const { rows } = await run<{ event: AuditEvent }>(
      'reconstruct a trail',
      `SELECT event FROM ${table} WHERE ${parts.join(' AND ')} ORDER BY time, id LIMIT ${TRAIL_MAX}`,
      params.values,
    );
    return rows.map((r) => r.event);
  };
  const [flow, token, session] = await Promise.all([
    of((p, v) => `flow_id = ${p.add(v)}`, k.flow, w.flow),
    of(
      (p, v) => {
        const $ = p.add(v);
        return `(token_fp = ${$} OR (event #>> '{oauth,presented,fingerprint}') = ${$})`;
      },
      k.token,
      w.token,
    ),
    of((p, v) => `session_id = ${p.add(v)}`, k.session, w.session),
  ]);
  return { event, flow, token, session };
}
