import { fieldSpec, QUERY_FIELDS, type FieldSpec } from '../fields.js';
import { isInet } from './inet.js';
import { Lexer, type RawValue, type Token } from './lexer.js';
import { errorAt, QueryError, quote } from './query-error.js';

/** The limits of one query; beyond them it is refused (a query is typed by a person, or pasted). */
export const MAX_QUERY_LENGTH = 2000;
export const MAX_TERMS = 64;
export const MAX_DEPTH = 16;

export type Match =
  | { readonly op: 'exists' }
  | { readonly op: 'eq'; readonly value: string | number }
  | { readonly op: 'like'; readonly pattern: string }
  | { readonly op: 'cmp'; readonly cmp: '<' | '<=' | '>' | '>='; readonly value: number }
  | { readonly op: 'range'; readonly low: number; readonly high: number };

export type Node =
  | { readonly kind: 'and' | 'or'; readonly items: readonly Node[] }
  | { readonly kind: 'not'; readonly item: Node }
  | { readonly kind: 'term'; readonly field: FieldSpec; readonly match: Match };

const OUTCOMES = new Set(['success', 'failure', 'detected']);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const STATUS = /^\d{1,3}$/;
const STATUS_CMP = /^(<=|>=|<|>)(\d{1,3})$/;
const STATUS_RANGE = /^(\d{1,3})\.\.(\d{1,3})$/;
const WILDCARD_FIELDS = QUERY_FIELDS.filter((f) => fieldSpec(f)?.wildcard === true).join(', ');

// In a LIKE pattern `%` and `_` match anything and `\` is PostgreSQL's default escape character:
// a literal part of a value must not be able to turn into a pattern.
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end of query';
    case 'lparen':
      return "'('";
    case 'rparen':
      return "')'";
    case 'and':
    case 'or':
    case 'not':
      return token.kind.toUpperCase();
    case 'neg':
      return "'-'";
    case 'word':
      return quote(token.text);
    case 'term':
      return quote(`${token.field}:${token.value.source}`);
  }
}

/** What a bare word probably meant, so the message can show the query to write instead. */
function suggest(word: string): string {
  const lower = word.toLowerCase();
  if (lower === 'and' || lower === 'or' || lower === 'not') {
    return `operators are written in capitals: ${word.toUpperCase()}`;
  }
  const q = quote(word);
  if (isInet(word)) return `write ip:${q}`;
  if (UUID.test(word)) return `write id:${q} or flow:${q}`;
  if (STATUS.test(word)) return `write status:${word}`;
  if (/^[a-z][a-z0-9_]*\.[a-z0-9_.*]+$/.test(word)) return `write type:${q}`;
  return `write field:value, e.g. user:${q}; fields: ${QUERY_FIELDS.join(', ')}`;
}

function parseMatch(field: FieldSpec, value: RawValue): Match {
  const { parts } = value;
  if (parts.length === 2 && parts[0] === '' && parts[1] === '') return { op: 'exists' };
  if (parts.length > 1) {
    if (field.wildcard) return { op: 'like', pattern: parts.map(escapeLike).join('%') };
    throw errorAt(
      value.pos,
      `'*' is a wildcard only in ${WILDCARD_FIELDS} values, or alone (${field.name}:* for "has a ${field.name}"); write \\* for a literal '*'`,
    );
  }
  const text = parts[0] as string;
  switch (field.kind) {
    case 'text':
    case 'user':
      return { op: 'eq', value: text };
    case 'outcome':
      if (!OUTCOMES.has(text)) {
        throw errorAt(value.pos, `expected success, failure or detected, found ${quote(text)}`);
      }
      return { op: 'eq', value: text };
    case 'inet':
      if (!isInet(text)) {
        throw errorAt(
          value.pos,
          `expected an IP address or a CIDR range (203.0.113.0/24), found ${quote(text)}`,
        );
      }
      return { op: 'eq', value: text };
    case 'uuid':
      if (!UUID.test(text)) throw errorAt(value.pos, `expected a UUID, found ${quote(text)}`);
      return { op: 'eq', value: text.toLowerCase() };
    case 'status': {
      if (STATUS.test(text)) return { op: 'eq', value: Number(text) };
      const cmp = STATUS_CMP.exec(text);
      if (cmp !== null)
        return { op: 'cmp', cmp: cmp[1] as '<' | '<=' | '>' | '>=', value: Number(cmp[2]) };
      const range = STATUS_RANGE.exec(text);
      if (range !== null && Number(range[1]) <= Number(range[2])) {
        return { op: 'range', low: Number(range[1]), high: Number(range[2]) };
      }
      throw errorAt(
        value.pos,
        `expected a status such as 401, >=500 or 400..499, found ${quote(text)}`,
      );
    }
  }
}

/** Recursive descent over `or := and (OR and)*`, `and := unary (AND? unary)*`, `unary := (NOT | -) unary | ( or ) | term`. */
class Parser {
  private readonly lexer: Lexer;
  private terms = 0;

  constructor(text: string) {
    this.lexer = new Lexer(text);
  }

  query(): Node | undefined {
    if (this.lexer.peek().kind === 'end') return undefined;
    const node = this.or(0);
    const rest = this.lexer.peek();
    // `or` stops only at the end or at a ')' it did not open.
    if (rest.kind !== 'end') throw errorAt(rest.pos, "unexpected ')' with no '(' open");
    return node;
  }

  private or(depth: number): Node {
    const items = [this.and(depth)];
    while (this.lexer.peek().kind === 'or') {
      this.lexer.next();
      items.push(this.and(depth));
    }
    return items.length === 1 ? (items[0] as Node) : { kind: 'or', items };
  }

  private and(depth: number): Node {
    const items = [this.unary(depth)];
    for (;;) {
      const kind = this.lexer.peek().kind;
      if (kind === 'end' || kind === 'rparen' || kind === 'or') break;
      if (kind === 'and') this.lexer.next();
      items.push(this.unary(depth));
    }
    return items.length === 1 ? (items[0] as Node) : { kind: 'and', items };
  }

  private unary(depth: number): Node {
    const token = this.lexer.next();
    switch (token.kind) {
      case 'not':
      case 'neg':
        this.enter(token, depth);
        return { kind: 'not', item: this.unary(depth + 1) };
      case 'lparen': {
        this.enter(token, depth);
        const node = this.or(depth + 1);
        const close = this.lexer.next();
        if (close.kind !== 'rparen') {
          throw errorAt(
            close.pos,
            `expected ')' to close the '(' at ${token.pos}, found ${describe(close)}`,
          );
        }
        return node;
      }
      case 'term': {
        if (++this.terms > MAX_TERMS) throw errorAt(token.pos, `more than ${MAX_TERMS} terms`);
        const field = fieldSpec(token.field);
        if (field === undefined) {
          throw errorAt(
            token.pos,
            `unknown field ${quote(token.field)}; fields: ${QUERY_FIELDS.join(', ')}`,
          );
        }
        return { kind: 'term', field, match: parseMatch(field, token.value) };
      }
      case 'word':
        throw errorAt(token.pos, `${quote(token.text)} has no field: ${suggest(token.text)}`);
      default:
        throw errorAt(token.pos, `expected a field:value term, found ${describe(token)}`);
    }
  }

  private enter(token: Token, depth: number): void {
    if (depth >= MAX_DEPTH) {
      throw errorAt(token.pos, `parentheses and negations nest deeper than ${MAX_DEPTH} levels`);
    }
  }
}

/** Parses a query's text; `undefined` for a query with no terms (every event matches). */
export function parse(text: string): Node | undefined {
  if (typeof text !== 'string') throw new QueryError('authtrail: invalid query: expected a string');
  if (text.length > MAX_QUERY_LENGTH) {
    throw errorAt(
      MAX_QUERY_LENGTH + 1,
      `a query is at most ${MAX_QUERY_LENGTH} characters, this one has ${text.length}`,
    );
  }
  // PostgreSQL text cannot hold U+0000: as a parameter it fails the statement (`invalid byte
  // sequence for encoding "UTF8": 0x00`), which must be a query error here instead.
  const nul = text.indexOf('\u0000');
  if (nul !== -1)
    throw errorAt(nul + 1, 'expected no NUL character (U+0000), which PostgreSQL text cannot hold');
  return new Parser(text).query();
}
