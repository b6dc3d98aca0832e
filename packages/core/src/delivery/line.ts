import type { AuditEvent } from '@authtrail/schema';

// Every piece added to a line is one more step when the batch is joined, and every JSON.stringify
// call has a fixed cost: so the line is made of few, large pieces. Frozen parts are shared by many
// events (the observer, and per token the user, client and oauth blocks): each one's `"key":{...}`
// is made once.
const fields = new WeakMap<object, { key: string; json: string }>();

// `"key":` for the schema's field names, made once (bounded: events carry no other keys).
const keys = new Map<string, string>();
function keyJson(key: string): string {
  let json = keys.get(key);
  if (json === undefined) {
    json = JSON.stringify(key) + ':';
    if (keys.size < 64) keys.set(key, json);
  }
  return json;
}

/** True for a string JSON writes as it is: printable ASCII without `"` or `\`. */
function plain(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

function field(key: string, value: unknown): string {
  if (typeof value === 'string')
    return keyJson(key) + (plain(value) ? '"' + value + '"' : JSON.stringify(value));
  if (typeof value === 'object' && value !== null && Object.isFrozen(value)) {
    let cached = fields.get(value);
    if (cached?.key !== key)
      fields.set(value, (cached = { key, json: keyJson(key) + JSON.stringify(value) }));
    return cached.json;
  }
  return keyJson(key) + JSON.stringify(value);
}

const HEAD = ['schema', 'id', 'time', 'type', 'outcome'];

/** True when an event starts with the five fields every event is made with, in that order. */
function standardHead(event: Record<string, unknown>): boolean {
  let i = 0;
  for (const key in event) {
    if (key !== HEAD[i]) return false;
    if (++i === HEAD.length) return true;
  }
  return false;
}

/**
 * The native JSON line of an event, with its newline: byte for byte what `JSON.stringify(event)`
 * gives (keys in insertion order, undefined fields left out). Made once per event when it is queued:
 * it sizes the queues and feeds batches and spill files, which carry it beside the event.
 */
export function serialize(event: AuditEvent): string {
  const e = event as unknown as Record<string, unknown>;
  const { schema, id, time, type, outcome } = event;
  let line = '{';
  let skip = 0;
  // The head of every event the auditor makes (ids, times and types need no escaping) in one piece.
  if (
    typeof schema === 'number' &&
    Number.isFinite(schema) &&
    plain(id) &&
    plain(time) &&
    plain(type) &&
    plain(outcome) &&
    standardHead(e)
  ) {
    line = `{"schema":${schema},"id":"${id}","time":"${time}","type":"${type}","outcome":"${outcome}"`;
    skip = HEAD.length;
  }
  for (const key in e) {
    if (skip > 0) {
      skip--;
      continue;
    }
    const value = e[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    line += (line.length === 1 ? '' : ',') + field(key, value);
  }
  return line + '}\n';
}
