/**
 * A deep copy of plain JSON data without `undefined` values. Events are built with every field
 * initialised (one shape per event), so formats strip the unknown ones here, once, instead of
 * testing each field where it is mapped.
 */
export function compact<T>(value: T): T {
  return strip(value) as T;
}

function strip(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(strip);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = strip((value as Record<string, unknown>)[key]);
    // An object whose fields were all unknown says nothing: drop it with them.
    if (v === undefined || (isObject(v) && Object.keys(v).length === 0)) continue;
    out[key] = v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `"token_issue"` -> `"Token Issue"`: activity names and finding titles. */
export function titleCase(words: string): string {
  return words
    .split('_')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}

/** `"oauth.token_issue.success"` -> `["oauth", "token_issue", "success"]` (custom types included). */
export function typeParts(type: string): [category: string, action: string, outcome: string] {
  const first = type.indexOf('.');
  const last = type.lastIndexOf('.');
  return [type.slice(0, first), type.slice(first + 1, last), type.slice(last + 1)];
}
