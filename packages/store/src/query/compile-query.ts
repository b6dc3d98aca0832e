import { parse, type Match, type Node } from './internal/parse.js';
import { firstParamOf } from './internal/placeholders.js';
import type { FieldSpec } from './fields.js';
import type { CompiledQuery, PlaceholderOptions } from './types.js';

class Emitter {
  readonly params: unknown[] = [];

  constructor(private readonly first: number) {}

  /** Adds a value and returns its placeholder: the only way anything from the query reaches SQL. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.first + this.params.length - 1}`;
  }

  node(node: Node): string {
    switch (node.kind) {
      case 'and':
      case 'or':
        return `(${node.items.map((item) => this.node(item)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        // IS NOT TRUE, not NOT: a term over a column the event lacks is NULL, and `-reason:idp_error`
        // must keep the events that have no reason (NOT NULL would drop them).
        return `(${this.node(node.item)}) IS NOT TRUE`;
      case 'term':
        return this.term(node.field, node.match);
    }
  }

  private term(field: FieldSpec, match: Match): string {
    const column = field.column;
    switch (match.op) {
      case 'exists':
        return field.kind === 'user'
          ? '(user_id IS NOT NULL OR user_hash IS NOT NULL)'
          : `${column} IS NOT NULL`;
      case 'like':
        return `${column} LIKE ${this.param(match.pattern)}`;
      case 'cmp':
        return `${column} ${match.cmp} ${this.param(match.value)}`;
      case 'range':
        return `${column} BETWEEN ${this.param(match.low)} AND ${this.param(match.high)}`;
      case 'eq':
        switch (field.kind) {
          case 'user': {
            // One parameter used twice: a pseudonymised user is found by the hash the event carries.
            const p = this.param(match.value);
            return `(user_id = ${p} OR user_hash = ${p})`;
          }
          case 'inet':
            // <<= is "contained in or equal to": an address matches itself, a CIDR its addresses.
            return `${column} <<= ${this.param(match.value)}::inet`;
          case 'uuid':
            return `${column} = ${this.param(match.value)}::uuid`;
          default:
            return `${column} = ${this.param(match.value)}`;
        }
    }
  }
}

/**
 * Compiles a query of the authtrail query language to a PostgreSQL boolean expression over the
 * `events` columns and its parameters. Values only ever become parameters; columns and operators
 * come from this package's constants. An empty query compiles to `TRUE`.
 *
 * Throws `ERR_AUTHTRAIL_INVALID_QUERY` for a malformed query, with the 1-based column in
 * `position` and the message (`at 35: expected ')' to close the '(' at 24, found end of query`).
 *
 * @example
 * ```ts
 * const q = compileQuery('type:authn.login.* outcome:failure -reason:idp_error', { firstParam: 3 });
 * // q.where: "(type LIKE $3 AND outcome = $4 AND (reason = $5) IS NOT TRUE)"
 * // q.params: ['authn.login.%', 'failure', 'idp_error']
 * await client.query(`SELECT * FROM events WHERE time >= $1 AND time < $2 AND ${q.where}`, [from, to, ...q.params]);
 * ```
 */
export function compileQuery(text: string, options?: PlaceholderOptions): CompiledQuery {
  const first = firstParamOf(options);
  const node = parse(text);
  if (node === undefined) return { where: 'TRUE', params: [] };
  const emitter = new Emitter(first);
  const where = emitter.node(node);
  return { where, params: emitter.params };
}
