import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeKind, type RouteKind } from './classify.js';
import { DeliveryQueue } from './delivery/queue.js';
import { AuthtrailError } from './errors.js';
import { newEvent, observers, stamper } from './event.js';
import { createObserver } from './observe.js';
import { resolveOptions, type AuthtrailOptions, type ResolvedOptions } from './options.js';
import { clean } from './redact.js';
import { HashChain } from './integrity/chain.js';
import { flushOnExit } from './delivery/shutdown.js';
import { EventTypes, Reasons, isEventType } from './taxonomy.js';
import type { AuditEvent, AuditorStats, ManualEvent, RequestFacts, SinkHost } from './types.js';

/** Published when building a request's event threw inside authtrail: `{ error }`. */
export const auditErrorChannel = channel('authtrail:error');

/** An audit pipeline: adapters hand it request facts, apps record manual events. */
export interface Auditor {
  /** Records a manual event now. Throws `ERR_AUTHTRAIL_INVALID_EVENT` for a type of the wrong shape. */
  record(event: ManualEvent): AuditEvent;
  /** Turns the facts of a finished request into an event, if it is an auth event. Never throws. */
  observe(facts: RequestFacts): void;
  /** Which relying-party route a URL is (adapters use it to capture what they need early). */
  routeKind(url: string): RouteKind | undefined;
  /** Resolves once every event recorded so far reached every sink. */
  flush(): Promise<void>;
  /** Flushes, then closes the sinks. Later events are dropped and counted. */
  close(): Promise<void>;
  /**
   * Adapters call it when a request arrives: undefined to go on at once, or (`overflow: 'block'`
   * with a full queue) a promise to wait for before handling the request.
   */
  admit(): Promise<void> | undefined;
  stats(): AuditorStats;
  readonly options: ResolvedOptions;
}

let ephemeralNoticeShown = false;

/**
 * Creates an auditor. Options are validated here, once: a broken configuration throws an
 * `AuthtrailError` with code `ERR_AUTHTRAIL_INVALID_OPTIONS` that lists every problem.
 * @example
 * const auditor = createAuditor({ service: 'billing-api', sinks: [fileSink('audit.jsonl')] });
 * auditor.record({ type: 'authn.mfa_enroll.success', user: { id: 'u-42' } });
 */
export function createAuditor(options?: AuthtrailOptions, adapter = 'core'): Auditor {
  const o = resolveOptions(options, adapter);
  if (o.ephemeralKey && !ephemeralNoticeShown) {
    ephemeralNoticeShown = true;
    process.emitWarning(
      'authtrail: no fingerprint key configured (keys.fingerprint or AUTHTRAIL_FINGERPRINT_KEY); ' +
        'using a random key, so token fingerprints will not match across restarts or instances.',
      { code: 'AUTHTRAIL_EPHEMERAL_KEY' },
    );
  }
  const role = o.provider ? 'op' : 'rs';
  const queue = new DeliveryQueue(
    o.sinks,
    o.delivery,
    o.chainKey ? new HashChain(o.chainKey) : undefined,
    o.service.replace(/[^\w.-]/g, '_'),
    (sink, dropped) => {
      // Told once the sink accepts again, so the report itself is not lost with the events.
      const report = newEvent(observer[role], EventTypes.DELIVERY_FAILURE, Date.now());
      report.reason = Reasons.EVENTS_DROPPED;
      report.delivery = { sink, dropped };
      push(report);
    },
  );
  const blocking = o.delivery.overflow === 'block';
  // Tests may inject a clock and ids; chosen once here so that production pays nothing per event.
  const stamp = stamper(o);
  const push =
    stamp === undefined
      ? (event: AuditEvent) => queue.push(event)
      : (event: AuditEvent) => {
          stamp(event);
          queue.push(event);
        };
  const build = createObserver(o);
  const observer = observers(o);
  let closed = false;
  let closing: Promise<void> | undefined;
  // Requests admitted and not yet observed; on a fatal signal new ones are held back (`holding`).
  let inFlight = 0;
  let holding: Promise<void> | undefined;
  let errors = 0;
  // Events still waiting for authtrail's own token verification (first sight of a token only).
  const pending = new Set<Promise<void>>();
  const failed = (error: unknown) => {
    errors++;
    if (auditErrorChannel.hasSubscribers) auditErrorChannel.publish({ error });
  };

  const auditor: Auditor = {
    options: o,
    routeKind: (url) => routeKind(o.routes, url),
    observe(facts) {
      if (inFlight > 0) inFlight--;
      if (closed) {
        queue.refused++;
        return;
      }
      try {
        const event = build(facts);
        if (event instanceof Promise) {
          const settled: Promise<void> = event
            .then(push, failed)
            .finally(() => pending.delete(settled));
          pending.add(settled);
        } else if (Array.isArray(event)) {
          for (const e of event) push(e);
        } else if (event) push(event);
      } catch (error) {
        failed(error);
      }
    },
    record(input) {
      if (closed)
        throw new AuthtrailError('ERR_AUTHTRAIL_CLOSED', 'authtrail: record() after close()');
      if (input === null || typeof input !== 'object' || !isEventType(input.type)) {
        throw new AuthtrailError(
          'ERR_AUTHTRAIL_INVALID_EVENT',
          `authtrail: event type ${JSON.stringify((input as { type?: unknown } | null)?.type)} is not of the form <category>.<action>.<success|failure|detected>, e.g. "authn.mfa_enroll.success"`,
        );
      }
      const role =
        input.observer?.role === 'op' || input.observer?.role === 'rp' ? input.observer.role : 'rs';
      const event = newEvent(observer[role], input.type, Date.now());
      for (const key of MANUAL_FIELDS) {
        if (input[key] !== undefined)
          (event as unknown as Record<string, unknown>)[key] = sanitize(
            input[key],
            o.limits.maxStringLength,
            0,
          );
      }
      push(event);
      return event;
    },
    async flush() {
      while (pending.size > 0) await Promise.all(pending);
      await queue.flush();
    },
    close() {
      return (closing ??= (async () => {
        // Requests still finishing are taken in, until a flush sees no new event (or time is up).
        const until = Date.now() + o.delivery.closeTimeoutMs;
        let seen = -1;
        while (seen !== queue.recorded && Date.now() < until) {
          seen = queue.recorded;
          await Promise.race([
            auditor.flush(),
            sleep(until - Date.now(), undefined, { ref: false }),
          ]);
        }
        closed = true;
        // The last link of a chain: without it, `authtrail verify` reports the log as truncated.
        if (o.chainKey) checkpoint('close');
        await queue.close(Math.max(0, until - Date.now()));
        forget?.();
      })());
    },
    admit() {
      if (holding) return holding;
      inFlight++;
      return blocking && queue.full ? queue.room() : undefined;
    },
    stats: () => ({ ...queue.stats(), errors }),
  };
  // On SIGTERM / SIGINT with no listener of the app's: the process is going away. New requests are
  // held (never answered), the ones in flight finish and are recorded, then the auditor closes.
  const exit = async () => {
    holding ??= new Promise<void>(() => {});
    const until = Date.now() + o.delivery.closeTimeoutMs;
    while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await auditor.close();
  };
  function checkpoint(reason: 'close' | 'rotation'): void {
    const event = newEvent(observer[role], EventTypes.CHECKPOINT, Date.now());
    event.reason = reason;
    push(event);
  }
  // A rotating file sink asks for a checkpoint: it opens the new file with it.
  const host: SinkHost = {
    checkpoint: (reason) => o.chainKey !== undefined && !closed && (checkpoint(reason), true),
  };
  for (const sink of o.sinks) sink.attach?.(host);
  const forget = o.delivery.handleSignals
    ? flushOnExit({ flush: auditor.flush, close: exit, stats: auditor.stats })
    : undefined;
  return auditor;
}

const MANUAL_FIELDS = [
  'reason',
  'error',
  'user',
  'client',
  'oauth',
  'session',
  'flow',
  'http',
  'source',
  'trace',
] as const;

/** Manual events come from app code: keep plain data only, bounded and free of control characters. */
function sanitize(value: unknown, max: number, depth: number): unknown {
  if (typeof value === 'string') return clean(value, max);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === null || typeof value !== 'object' || depth > 4) return undefined;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => sanitize(v, max, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key of Object.keys(value)) {
    if (++n > 50) break;
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[clean(key, 64) ?? ''] = sanitize((value as Record<string, unknown>)[key], max, depth + 1);
  }
  return out;
}
