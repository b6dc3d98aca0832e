// The JSON views of the console's API: each reads the store through its interface (query, count,
// top, trail), bounded in size by its parameters and in time by `timeoutMs`.
import { EventTypes, Reasons, isUuid, toEcs, toOcsf, type AuditEvent } from '@authtrail/schema';
import {
  BUCKET_INTERVALS,
  GROUP_FIELDS,
  MAX_QUERY_LENGTH,
  QUERY_FIELDS,
  compileQuery,
  type BucketInterval,
  type StoreFilter,
} from '@authtrail/store';
import type { ResolvedConsole } from './options.js';
import { BadRequest, oneOf, range, text, whole, within } from './internal/range.js';

/** What a view answers, and what its access event says about it. */
export interface Answer {
  body: unknown;
  results?: number;
  query?: string;
  target?: string;
  from?: Date;
  to?: Date;
  /** 404 when the id names nothing. */
  status?: number;
}

export interface ViewContext {
  o: ResolvedConsole;
  params: URLSearchParams;
  now: number;
  /** The id after `events/` or `trail/`. */
  id?: string;
}

const DAY = 86_400_000;
/** The longest overview: a bucket a day. */
const MAX_OVERVIEW_MS = 400 * DAY;

/** A query's text compiled; its typed error (with the position) is a 400. */
export function filter(query: string | undefined): StoreFilter | undefined {
  return query === undefined ? undefined : compileQuery(query);
}

/**
 * The bucket width of an overview: the finest that keeps a range under about 200 buckets. From an
 * hour up, the store answers from its hourly rollup instead of reading every event.
 */
export function bucketFor(spanMs: number): BucketInterval {
  if (spanMs <= 2 * 3_600_000) return '1m';
  if (spanMs <= 12 * 3_600_000) return '5m';
  if (spanMs <= 2 * DAY) return '15m';
  if (spanMs <= 14 * DAY) return '1h';
  return '1d';
}

/** `GET api/overview?from&to`: the time line by outcome, failures by reason, top failing, detections. */
export async function overview({ o, params, now }: ViewContext): Promise<Answer> {
  const { from, to: given } = range(params, now, now - DAY);
  const to = given ?? new Date(now);
  const span = to.getTime() - from!.getTime();
  if (span > MAX_OVERVIEW_MS)
    throw new BadRequest(
      'invalid_parameter',
      'an overview covers at most 400 days: narrow from and to',
    );
  const interval = bucketFor(span);
  const failures = compileQuery('outcome:failure');
  const r = { from, to };
  const top = (field: 'reason' | 'user' | 'ip' | 'client') =>
    o.store.top({ ...r, where: failures, field, limit: 10 });
  const [timeline, reasons, users, ips, clients, detections] = await within(
    Promise.all([
      o.store.count({ ...r, interval, by: 'outcome' }),
      top('reason'),
      top('user'),
      top('ip'),
      top('client'),
      o.store.query({ ...r, where: compileQuery('outcome:detected'), limit: 20 }),
    ]),
    o.timeoutMs,
  );
  const total = timeline.reduce((n, b) => n + b.count, 0);
  return {
    body: {
      from: from!.toISOString(),
      to: to.toISOString(),
      interval,
      timeline,
      total,
      failures: { reasons, users, ips, clients },
      detections: detections.events,
    },
    results: total,
    from,
    to,
  };
}

/** `GET api/search?q&from&to&limit&after&order`: one keyset page, and the cursor of the next. */
export async function search({ o, params, now }: ViewContext): Promise<Answer> {
  const query = text(params, 'q', MAX_QUERY_LENGTH);
  const { from, to } = range(params, now);
  const limit = whole(params, 'limit', 50, 1, 500);
  const order = oneOf(params, 'order', ['desc', 'asc'] as const, 'desc');
  const after = text(params, 'after', 512);
  const answer: Answer = { body: undefined, query, from, to };
  const where = filter(query);
  const page = await within(o.store.query({ from, to, where, limit, order, after }), o.timeoutMs);
  answer.body = { events: page.events, next: page.next ?? null };
  answer.results = page.events.length;
  return answer;
}

/** The time an UUIDv7 names (its first 48 bits), to look for its event in a few partitions only. */
function uuidTime(id: string): number | undefined {
  if (id[14] !== '7') return undefined;
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `GET api/events/:id`: the event as stored, and its ECS and OCSF renderings. */
export async function eventDetail({ o, id }: ViewContext): Promise<Answer> {
  if (id === undefined || !isUuid(id))
    throw new BadRequest('invalid_parameter', 'an event id is a UUID');
  const where = compileQuery(`id:${id}`);
  const find = (window: { from?: Date; to?: Date }) =>
    within(o.store.query({ ...window, where, limit: 1 }), o.timeoutMs);
  // A UUIDv7 names the time it was made, usually the event's: a day each side reads two or three
  // partitions. An event whose id was made at another time (a test clock, an import) is then
  // looked for everywhere.
  const at = uuidTime(id);
  let page =
    at === undefined ? undefined : await find({ from: new Date(at - DAY), to: new Date(at + DAY) });
  if (!page?.events.length) page = await find({});
  const event: AuditEvent | undefined = page.events[0];
  if (!event)
    return {
      status: 404,
      body: { error: { code: 'not_found', message: 'no event has this id' } },
      target: id,
      results: 0,
    };
  return { body: { event, ecs: toEcs(event), ocsf: toOcsf(event) }, target: id, results: 1 };
}

const TRAIL_ID = /^[\w.:+/=-]{1,256}$/;

/** `GET api/trail/:id?from&to`: the flow, token life and session around an id (`store.trail`). */
export async function trail({ o, params, now, id }: ViewContext): Promise<Answer> {
  if (id === undefined || !TRAIL_ID.test(id))
    throw new BadRequest(
      'invalid_parameter',
      'give an event id, flow id, token fingerprint or session id (letters, digits and . : + / = - _, at most 256)',
    );
  const { from, to } = range(params, now);
  const found = await within(o.store.trail(id, { from, to }), o.timeoutMs);
  const ids = new Set([...found.flow, ...found.token, ...found.session].map((e) => e.id));
  if (found.event) ids.add(found.event.id);
  const answer: Answer = { body: found, target: id, from, to, results: ids.size };
  if (ids.size === 0)
    return {
      ...answer,
      status: 404,
      body: { error: { code: 'not_found', message: 'nothing has this id' } },
    };
  return answer;
}

/** `GET api/fields`: the query language for completion: fields, operators, known values. */
export function fields(): Answer {
  return {
    body: {
      fields: QUERY_FIELDS,
      groupFields: GROUP_FIELDS,
      intervals: BUCKET_INTERVALS,
      operators: ['AND', 'OR', 'NOT', '-', '(', ')'],
      values: {
        outcome: ['success', 'failure', 'detected'],
        type: Object.values(EventTypes),
        reason: Object.values(Reasons),
        status: ['401', '>=500', '400..499'],
      },
      maxLength: MAX_QUERY_LENGTH,
    },
  };
}

/** `GET api/export?q&from&to` (auditor): every matching event as ndjson, at most 10,000. */
export async function exportEvents({ o, params, now }: ViewContext) {
  const query = text(params, 'q', MAX_QUERY_LENGTH);
  const { from, to } = range(params, now);
  const limit = whole(params, 'limit', 10_000, 1, 10_000);
  const where = filter(query);
  const events: AuditEvent[] = [];
  let after: string | undefined;
  while (events.length < limit) {
    const page = await within(
      o.store.query({ from, to, where, after, limit: Math.min(1000, limit - events.length) }),
      o.timeoutMs,
    );
    events.push(...page.events);
    if (page.next === undefined) break;
    after = page.next;
  }
  return { events, query, from, to };
}
