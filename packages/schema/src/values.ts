// The shapes of an event's id and time, checked alike wherever an event or its evidence is read
// (record()'s detection check, `authtrail import`).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// What the auditor writes (ISO-8601 UTC); other zones too, the instant is kept.
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Whether `value` is a UUID, as an event id is. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Whether `value` is an ISO-8601 date and time with a zone (`Z` or `+hh:mm`) that parses. */
export function isZonedTime(value: unknown): value is string {
  return typeof value === 'string' && TIME.test(value) && Number.isFinite(Date.parse(value));
}
