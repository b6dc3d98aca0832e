import type { AuditEvent } from '@authtrail/schema';
import { EVENT_COLUMNS, eventRow, type EventRow } from '../schema.js';
import { parse, type Match, type Node } from './internal/parse.js';
import type { FieldSpec } from './fields.js';

/** Whether an event matches a query, as the store would answer it. */
export type EventPredicate = (event: AuditEvent) => boolean;

type RowTest = (row: EventRow) => boolean;

/** The index of a column in an {@link EventRow}. */
const COLUMN_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  EVENT_COLUMNS.map(([name], i) => [name, i]),
);

// A lone surrogate reaches PostgreSQL as U+FFFD (UTF-8 cannot encode it), on the stored side and
// in a query's parameter alike: compared here as the server compares them.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (text: string) => text.replace(LONE_SURROGATE, '\ufffd');

/** A LIKE pattern (`%` anything, `_` one character, `\` escapes) as an anchored RegExp. */
function likeRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '%') source += '[^]*';
    else if (c === '_') source += '[^]';
    else source += escapeRegExp(c);
  }
  // `u`: `_` is one character as PostgreSQL counts them (a code point), not a UTF-16 unit.
  return new RegExp(`^${wellFormed(source)}$`, 'u');
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** An address as PostgreSQL's `inet` holds it: its family, its bytes and its mask length. */
interface Inet {
  readonly v6: boolean;
  readonly bytes: readonly number[];
  readonly bits: number;
}

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    return undefined;
  // PostgreSQL reads 010 as ten, not as octal: so does Number().
  return parts.map(Number);
}

function ipv6Bytes(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((half, h) => {
    if (half === '') return [] as number[];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const v4 = h === halves.length - 1 && i === parts.length - 1 ? ipv4Bytes(part) : undefined;
      if (v4) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  });
  if (groups.some((g) => g === undefined)) return undefined;
  const [head, tail] = groups as number[][];
  const fill = 8 - head!.length - (tail?.length ?? 0);
  if (tail === undefined ? fill !== 0 : fill < 1) return undefined;
  const all = [
    ...head!,
    ...new Array<number>(tail === undefined ? 0 : fill).fill(0),
    ...(tail ?? []),
  ];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** `text` (an address, optionally with `/bits`) as PostgreSQL's `inet` reads it, else undefined. */
function inet(text: string): Inet | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const v4 = ipv4Bytes(address);
  const bytes = v4 ?? (address.includes(':') ? ipv6Bytes(address) : undefined);
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  const bits = slash === -1 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { v6: v4 === undefined, bytes, bits };
}

/** PostgreSQL's `a <<= b`: the same family, and `a` inside `b`'s network (an address is inside itself). */
function containedIn(a: Inet, b: Inet): boolean {
  if (a.v6 !== b.v6 || a.bits < b.bits) return false;
  for (let bit = 0; bit < b.bits; bit += 8) {
    const mask = b.bits - bit >= 8 ? 0xff : (0xff << (8 - (b.bits - bit))) & 0xff;
    if ((a.bytes[bit / 8]! & mask) !== (b.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

function compileTerm(field: FieldSpec, match: Match): RowTest {
  // A user is found by its id or by the hash a pseudonymised event carries instead.
  const columns =
    field.kind === 'user'
      ? [COLUMN_INDEX.user_id!, COLUMN_INDEX.user_hash!]
      : [COLUMN_INDEX[field.column]!];
  const any = (test: (value: string | number) => boolean): RowTest =>
    columns.length === 1
      ? (row) => {
          const value = row[columns[0]!];
          return value !== null && value !== undefined && test(value);
        }
      : (row) =>
          columns.some((c) => {
            const value = row[c];
            return value !== null && value !== undefined && test(value);
          });
  switch (match.op) {
    case 'exists':
      return any(() => true);
    case 'like': {
      const re = likeRegExp(match.pattern);
      return any((value) => re.test(wellFormed(String(value))));
    }
    case 'cmp': {
      const limit = match.value;
      const compare = {
        '<': (v: number) => v < limit,
        '<=': (v: number) => v <= limit,
        '>': (v: number) => v > limit,
        '>=': (v: number) => v >= limit,
      }[match.cmp];
      return any((value) => compare(Number(value)));
    }
    case 'range':
      return any((value) => Number(value) >= match.low && Number(value) <= match.high);
    case 'eq': {
      if (field.kind === 'inet') {
        const network = inet(String(match.value));
        if (network === undefined) return () => false;
        return any((value) => {
          const address = inet(String(value));
          return address !== undefined && containedIn(address, network);
        });
      }
      if (field.kind === 'status') return any((value) => Number(value) === match.value);
      // A uuid column compares values, not spellings: upper or lower case alike.
      if (field.kind === 'uuid') return any((value) => String(value).toLowerCase() === match.value);
      const wanted = wellFormed(String(match.value));
      return any((value) => wellFormed(String(value)) === wanted);
    }
  }
}

function compileNode(node: Node): RowTest {
  switch (node.kind) {
    case 'and': {
      const items = node.items.map(compileNode);
      return (row) => items.every((test) => test(row));
    }
    case 'or': {
      const items = node.items.map(compileNode);
      return (row) => items.some((test) => test(row));
    }
    case 'not': {
      // The SQL's `IS NOT TRUE`: a term over a field the event lacks is not true, so its negation
      // holds (`-reason:idp_error` keeps the events without a reason). Two-valued logic here is
      // exact: AND and OR of "not true" terms are never true either.
      const item = compileNode(node.item);
      return (row) => !item(row);
    }
    case 'term':
      return compileTerm(node.field, node.match);
  }
}

/**
 * Compiles a query of the authtrail query language to a predicate over events, for events that
 * are not in a store (a log file being tailed). It answers as `compileQuery`'s SQL does over the
 * stored event: the same columns (`route` is `http.route`, `user` the id or its hash), wildcards,
 * negation that a missing field satisfies, status ranges, `ip:` by CIDR containment in IPv4 and
 * IPv6. An event the store could not hold (no valid time) matches nothing. An empty query matches
 * every event.
 *
 * Throws `ERR_AUTHTRAIL_INVALID_QUERY` for a malformed query, as `compileQuery` does.
 *
 * @example
 * ```ts
 * const failing = matchQuery('type:authn.login.* outcome:failure -ip:10.0.0.0/8');
 * const hits = events.filter(failing);
 * ```
 */
export function matchQuery(text: string): EventPredicate {
  const node = parse(text);
  const test = node === undefined ? () => true : compileNode(node);
  return (event) => {
    let row: EventRow;
    try {
      row = eventRow(event);
    } catch {
      return false;
    }
    return test(row);
  };
}
