import { EventTypes, Reasons, type ManualEvent } from '@authtrail/schema';
import type { DroppedPartition } from './types.js';

/** The retention the store keeps when none is given: PCI DSS 10.5.1 asks 12 months, plus a margin. */
export const DEFAULT_RETENTION_DAYS = 400;

// A manual event keeps at most 100 items of an array (core's bound on app-given data): a day with
// more chains than that (many instances restarting) is told in several events.
const CHAINS_PER_EVENT = 100;

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds of a duration: `'1d'`, `'12h'`, `'30m'`, `'10s'`, `'500ms'`, or a number of
 * milliseconds; undefined for anything else.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

/**
 * The `audit.retention.success` events telling what {@link Store.retain} dropped: one a partition
 * (more when it held over 100 hash chains), carrying the policy, the partition's day, rows, first
 * and last time, and the head of each chain in it. Record them with the auditor whose trail the
 * store holds (`auditor.record(event)`), so the trail says itself what left it, chained.
 * @example
 * for (const event of retentionEvents(await store.retain({ days: 400 }), 400)) auditor.record(event);
 */
export function retentionEvents(dropped: readonly DroppedPartition[], days: number): ManualEvent[] {
  const events: ManualEvent[] = [];
  for (const p of dropped) {
    const parts = Math.max(1, Math.ceil(p.chainHeads.length / CHAINS_PER_EVENT));
    for (let i = 0; i < parts; i++)
      events.push({
        type: EventTypes.RETENTION_SUCCESS,
        retention: {
          days,
          partition: p.partition,
          day: p.day,
          rows: p.rows,
          first: p.first,
          last: p.last,
          chains: p.chainHeads
            .slice(i * CHAINS_PER_EVENT, (i + 1) * CHAINS_PER_EVENT)
            .map(({ id, seq, hash }) => ({ id, seq, hash })),
          ...(parts > 1 ? { part: i + 1, parts } : {}),
        },
      });
  }
  return events;
}

/**
 * The `audit.retention.failure` event of a failed run: `reason` `store_unavailable` when the store
 * could not be reached, else `unknown`; `error.code` the error's code. Never the error's message:
 * it may name the server.
 */
export function retentionFailureEvent(error: unknown, days: number): ManualEvent {
  // By code, not instanceof: a dual (ESM + CommonJS) install has two AuthtrailError classes.
  const own = (error as { code?: unknown } | null)?.code;
  const code =
    typeof own === 'string' && own.startsWith('ERR_AUTHTRAIL_')
      ? own
      : 'ERR_AUTHTRAIL_STORE_FAILED';
  return {
    type: EventTypes.RETENTION_FAILURE,
    reason:
      code === 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' ? Reasons.STORE_UNAVAILABLE : Reasons.UNKNOWN,
    error: { code },
    retention: { days },
  };
}
