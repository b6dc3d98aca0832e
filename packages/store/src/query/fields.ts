import type { QueryField } from './types.js';

/**
 * How a field's values are matched: `text` by equality (or LIKE when `wildcard` and the value has a
 * `*`), `user` against the id or its hash, `inet` by containment, `status` by number or range,
 * `uuid` by equality after a format check, `outcome` against the three outcomes.
 */
export type FieldKind = 'text' | 'user' | 'inet' | 'status' | 'uuid' | 'outcome';

export interface FieldSpec {
  readonly name: QueryField;
  readonly kind: FieldKind;
  /** The column, a constant of this module: the only identifiers a compiled query contains. */
  readonly column: string;
  /** Whether `*` in a value is a wildcard (LIKE); elsewhere it is an error unless it is the whole value. */
  readonly wildcard: boolean;
  /** The expression a `groupField` of this field groups by; `undefined` when grouping by it makes no sense. */
  readonly group: string | undefined;
}

function spec(
  name: QueryField,
  kind: FieldKind,
  column: string,
  wildcard: boolean,
  group: string | undefined,
): FieldSpec {
  return Object.freeze({ name, kind, column, wildcard, group });
}

// Built once; a lookup by name is a property read on a prototype-less object, so `__proto__` or
// `constructor` typed as a field name is simply unknown.
const FIELD_LIST: readonly FieldSpec[] = [
  spec('type', 'text', 'type', true, 'type'),
  spec('outcome', 'outcome', 'outcome', false, 'outcome'),
  spec('reason', 'text', 'reason', false, 'reason'),
  // A pseudonymised user has only a hash: group by whichever of the two the event has.
  spec('user', 'user', 'user_id', false, 'COALESCE(user_id, user_hash)'),
  spec('client', 'text', 'client_id', true, 'client_id'),
  spec('ip', 'inet', 'source_ip', false, 'source_ip'),
  spec('flow', 'text', 'flow_id', false, 'flow_id'),
  spec('token', 'text', 'token_fp', false, 'token_fp'),
  spec('service', 'text', 'service', false, 'service'),
  spec('instance', 'text', 'instance', false, 'instance'),
  spec('route', 'text', 'route', true, 'route'),
  spec('status', 'status', 'status', false, 'status'),
  spec('trace', 'text', 'trace_id', false, undefined),
  spec('id', 'uuid', 'id', false, undefined),
];

const FIELDS: Readonly<Record<string, FieldSpec>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, FieldSpec>,
    ...FIELD_LIST.map((f) => ({ [f.name]: f })),
  ),
);

/** Every field name, in the order error messages list them. */
export const QUERY_FIELDS: readonly QueryField[] = Object.freeze(FIELD_LIST.map((f) => f.name));

/** The field spec of `name`, or `undefined` when the language has no such field. */
export function fieldSpec(name: string): FieldSpec | undefined {
  return FIELDS[name];
}
