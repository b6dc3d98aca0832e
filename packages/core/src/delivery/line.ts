import type { AuditEvent } from '../types.js';

// Frozen parts are shared by many events (the observer, and per token the user, client and oauth
// blocks): their JSON is made once.
const parts = new WeakMap<object, string>();

function part(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value))
    return JSON.stringify(value);
  let json = parts.get(value);
  if (json === undefined) parts.set(value, (json = JSON.stringify(value)));
  return json;
}

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

/**
 * The native JSON line of an event, with its newline: byte for byte what `JSON.stringify(event)`
 * gives (keys in insertion order, undefined fields left out), with the JSON of shared frozen parts
 * reused. Made once per event when it is queued: it sizes the queues and feeds batches and spill
 * files, which carry it beside the event.
 */
export function serialize(event: AuditEvent): string {
  let line = '{';
  const fields = event as unknown as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    line += (line.length === 1 ? '' : ',') + keyJson(key) + part(value);
  }
  return line + '}\n';
}
