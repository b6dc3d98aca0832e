import { channel } from 'node:diagnostics_channel';
import type { AuditEvent } from '@authtrail/schema';
import type { HashChain } from '../integrity/chain.js';
import type { AuditorStats, Sink, SinkStats } from '../types.js';
import { within } from '../internal/deadline.js';
import { Lane, SPILL_MARGIN_MS, zeroStats, type LaneReports } from './lane.js';
import type { DeliveryOptions } from './options.js';
import { serialize } from './line.js';

/**
 * How long `close()` may take beyond `closeTimeoutMs`: writing what is left to the spill file
 * and closing the sinks, when delivering used all of the time.
 */
export const CLOSE_MARGIN_MS = 200;

/** Published when a sink write fails: `{ sink, error, events }`. Subscribe to watch delivery. */
export const sinkErrorChannel = channel('authtrail:sink-error');

/**
 * Between the request path and the sinks. `push` never blocks and never throws: events are
 * collected for one event-loop turn (or `maxWaitMs`), linked into the hash chain in that order,
 * then handed to one {@link Lane} per sink, which queues, batches, retries and applies the
 * overflow policy on its own.
 */
export class DeliveryQueue {
  private pending: AuditEvent[] = [];
  private scheduled = false;
  private pushed = 0;
  /** Events pushed so far. */
  get recorded(): number {
    return this.pushed;
  }
  /** Events that arrived after close: dropped and counted. */
  refused = 0;
  readonly lanes: readonly Lane[];

  constructor(
    sinks: readonly Sink[],
    private readonly o: DeliveryOptions,
    private readonly chain: HashChain | undefined,
    spillName: string,
    reports: LaneReports,
  ) {
    const onFailure = (sink: Sink, error: unknown, events: number) => {
      if (sinkErrorChannel.hasSubscribers)
        sinkErrorChannel.publish({ sink: sink.name, error, events });
    };
    this.lanes = sinks.map((sink, i) => {
      const place =
        o.overflow === 'spill' && o.spillDir
          ? { dir: o.spillDir, stem: `${spillName}.${i}-${sink.name.replace(/[^\w.-]/g, '_')}` }
          : undefined;
      return new Lane(sink, o, place, onFailure, reports);
    });
  }

  push(event: AuditEvent): void {
    this.pending.push(event);
    this.pushed++;
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.o.maxWaitMs > 0) setTimeout(this.dispatch, this.o.maxWaitMs).unref();
      else setImmediate(this.dispatch);
    }
  }

  private readonly dispatch = (): void => {
    this.scheduled = false;
    const events = this.pending;
    if (events.length === 0) return;
    this.pending = [];
    // Linked here, in delivery order and off the request path.
    if (this.chain) for (const event of events) this.chain.link(event);
    const lines = events.map(serialize);
    for (const lane of this.lanes) {
      for (let i = 0; i < events.length; i++) lane.accept(events[i]!, lines[i]!);
      lane.start();
    }
  };

  /**
   * Hands `event` to one sink only (`sinks[index]`), stamped with the chain's current head but
   * taking no `seq` (a rotation checkpoint: the other sinks must see no gap). What is pending is
   * linked and handed out first, so the event names the head that precedes it in that sink.
   */
  anchor(index: number, event: AuditEvent): void {
    const lane = this.lanes[index];
    if (!this.chain || !lane) return;
    this.dispatch();
    this.chain.anchor(event);
    lane.accept(event, serialize(event));
    lane.start();
  }

  /** True when some sink's queue is full (`block` holds new requests back until it is not). */
  get full(): boolean {
    for (const lane of this.lanes) if (lane.full) return true;
    return false;
  }

  /** Resolves when no sink's queue is full. */
  async room(): Promise<void> {
    for (const lane of this.lanes) if (lane.full) await lane.room();
  }

  /** Resolves when every event queued so far was delivered (or, under `drop`, given up). */
  async flush(): Promise<void> {
    // Delivering can queue more (a report of dropped events): go on until nothing is pending.
    do {
      this.dispatch();
      await Promise.all(this.lanes.map((lane) => lane.flush()));
    } while (this.pending.length > 0);
    await Promise.all(this.lanes.map((lane) => lane.sink.flush?.()));
  }

  /**
   * Delivers what it can until `deadline` (a `Date.now()` time), then flushes and closes the sinks.
   * Resolves by `deadline` + {@link CLOSE_MARGIN_MS} whatever the sinks do: a sink that does not
   * answer is left behind (what it held is spilled or counted as dropped).
   */
  async close(deadline: number): Promise<void> {
    this.dispatch();
    await Promise.all(this.lanes.map((lane) => lane.stop(deadline)));
    // The sinks get what is left of the deadline, and at least the margin: closing a file takes
    // a moment even when delivering used all the time.
    const end = Math.max(deadline, Date.now()) + CLOSE_MARGIN_MS - SPILL_MARGIN_MS;
    await within(Promise.all(this.lanes.map((lane) => lane.sink.flush?.())), end);
    await within(Promise.all(this.lanes.map((lane) => lane.sink.close?.())), end);
  }

  /** Totals over every sink (each sink counts its own deliveries), and the deepest backlog. */
  stats(): Omit<AuditorStats, 'errors' | 'skipped' | 'skippedByRule'> {
    const total = zeroStats();
    const sinks: Record<string, SinkStats> = {};
    let deepest = 0;
    for (const [i, lane] of this.lanes.entries()) {
      const c = lane.counters;
      for (const k of [
        'delivered',
        'dropped',
        'retried',
        'spilled',
        'failed',
        'quarantined',
      ] as const)
        total[k] += c[k];
      sinks[lane.sink.name in sinks ? `${lane.sink.name}#${i}` : lane.sink.name] = { ...c };
      deepest = Math.max(deepest, lane.depth);
    }
    total.dropped += this.refused;
    return { ...total, enqueued: this.pushed, queued: this.pending.length + deepest, sinks };
  }
}
