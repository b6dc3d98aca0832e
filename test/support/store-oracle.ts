// The store's answers computed in JavaScript from the events themselves, without SQL and without
// the store's code: what each typed column holds, CIDR containment, UTC buckets, and the order
// PostgreSQL sorts keys in (text by byte, as in a C-collated database; addresses by family then
// bits; statuses as numbers; NULL last). The conformance suite checks both engines against these.
import { isIP } from 'node:net';
import type { AuditEvent } from '@authtrail/core';
import type { BucketInterval, CountBucket, QueryField, TopEntry } from '@authtrail/store';

/** The value of each query field's column for an event (null when the event has none). */
export function column(e: AuditEvent, field: QueryField): string | number | null {
  switch (field) {
    case 'type':
      return e.type;
    case 'outcome':
      return e.outcome;
    case 'reason':
      return e.reason ?? null;
    case 'user':
      // What grouping by user shows: the id, or for a pseudonymised user the hash.
      return e.user?.id ?? e.user?.hash ?? null;
    case 'client':
      return e.client?.id ?? null;
    case 'ip': {
      const ip = e.source?.ip;
      return ip !== undefined && isIP(ip) !== 0 ? ip : null;
    }
    case 'flow':
      return e.flow?.id ?? null;
    case 'token':
      return e.oauth?.token?.fingerprint ?? null;
    case 'service':
      return e.observer.service ?? null;
    case 'instance':
      return e.observer.instance ?? null;
    case 'route':
      return e.http?.route ?? null;
    case 'status':
      return typeof e.http?.status === 'number' ? e.http.status : null;
    case 'trace':
      return e.trace?.id ?? null;
    case 'id':
      return e.id;
  }
}

/** An address as [family, bits]; an IPv4-mapped IPv6 address stays IPv6, as in PostgreSQL. */
function parseIp(ip: string): [4 | 6, bigint] {
  if (isIP(ip) === 4) return [4, ip.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n)];
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIp(v4[1]!)[1];
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return [6, all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)];
}

/** Whether `ip` is in `range` (`a.b.c.d/n`, `x::/n`, or one address); never across families. */
export function inCidr(ip: string | null, range: string): boolean {
  if (ip === null) return false;
  const [net, bits] = range.split('/') as [string, string | undefined];
  const [fa, a] = parseIp(ip);
  const [fb, b] = parseIp(net);
  if (fa !== fb) return false;
  const width = fa === 4 ? 32 : 128;
  const shift = BigInt(width - (bits === undefined ? width : Number(bits)));
  return a >> shift === b >> shift;
}

/** A LIKE pattern of the query language (`*` any run of characters, nothing else special) as a test. */
export function wildcard(pattern: string): (value: string | number | null) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 'su');
  return (value) => typeof value === 'string' && re.test(value);
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** PostgreSQL's ORDER BY of a field's values: bytes of text, addresses by family and bits, numbers. */
export function compareKeys(field: QueryField | undefined, a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (field === 'status') return (a as number) - (b as number);
  if (field === 'ip') {
    const [fa, x] = parseIp(a as string);
    const [fb, y] = parseIp(b as string);
    return fa !== fb ? fa - fb : x < y ? -1 : x > y ? 1 : 0;
  }
  return Buffer.compare(utf8(a as string), utf8(b as string));
}

/** Events in the store's page order: time, then id, either way. */
export function inOrder(events: readonly AuditEvent[], order: 'asc' | 'desc'): AuditEvent[] {
  const sign = order === 'asc' ? 1 : -1;
  return [...events].sort(
    (a, b) =>
      sign * (Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  );
}

const WIDTH: Record<BucketInterval, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

/** `count()`'s answer: events per UTC bucket (and per value of `by`), in bucket then key order. */
export function expectedCount(
  events: readonly AuditEvent[],
  interval: BucketInterval,
  by?: QueryField,
): CountBucket[] {
  const width = WIDTH[interval];
  const groups = new Map<string, { start: number; key: string | number | null; count: number }>();
  for (const e of events) {
    const start = Math.floor(Date.parse(e.time) / width) * width;
    const key = by === undefined ? null : column(e, by);
    const id = `${start}\u0000${String(key)}`;
    const group = groups.get(id) ?? groups.set(id, { start, key, count: 0 }).get(id)!;
    group.count++;
  }
  return [...groups.values()]
    .sort((a, b) => a.start - b.start || compareKeys(by, a.key, b.key))
    .map((g) => ({
      start: new Date(g.start).toISOString(),
      key: g.key === null ? null : String(g.key),
      count: g.count,
    }));
}

/** `top()`'s answer: the `limit` most frequent values, ties in key order, NULL last. */
export function expectedTop(
  events: readonly AuditEvent[],
  field: QueryField,
  limit: number,
): TopEntry[] {
  const counts = new Map<string | number | null, number>();
  for (const e of events) {
    const key = column(e, field);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || compareKeys(field, a[0], b[0]))
    .slice(0, limit)
    .map(([key, count]) => ({ key: key === null ? null : String(key), count }));
}

/** An event as the store gives it back: its JSON (no undefined fields). */
export function stored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
