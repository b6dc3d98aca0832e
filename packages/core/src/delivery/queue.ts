import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import type { HashChain } from '../integrity/chain.js';
import type { AuditEvent, AuditorStats, Sink, SinkStats } from '../types.js';
import { Lane, zeroStats, type LaneOptions } from './lane.js';
import { serialize } from './line.js';

/** Published when a sink write fails: `{ sink, error, events }`. Subscribe to watch delivery. */
export const sinkErrorChannel = channel('authtrail:sink-error');

export interface DeliveryOptions extends LaneOptions {
  maxWaitMs: number;
  /** Directory of the spill files (`overflow: 'spill'`). */
  spillDir: string | undefined;
  /** How long `close()` keeps delivering before it gives up on a failing sink. */
  closeTimeoutMs: number;
}

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
    onDropsReported: (sink: string, dropped: number) => void,
  ) {
    const onFailure = (sink: Sink, error: unknown, events: number) => {
      if (sinkErrorChannel.hasSubscribers)
        sinkErrorChannel.publish({ sink: sink.name, error, events });
    };
    this.lanes = sinks.map((sink, i) => {
      const spillPath =
        o.overflow === 'spill' && o.spillDir
          ? join(o.spillDir, `${spillName}.${i}-${sink.name.replace(/[^\w.-]/g, '_')}.jsonl`)
          : undefined;
      return new Lane(sink, o, spillPath, onFailure, onDropsReported);
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

  /** Delivers what it can within `graceMs`, then closes the sinks. */
  async close(graceMs: number): Promise<void> {
    this.dispatch();
    await Promise.all(this.lanes.map((lane) => lane.stop(graceMs)));
    await Promise.all(this.lanes.map((lane) => lane.sink.flush?.()));
    await Promise.all(this.lanes.map((lane) => lane.sink.close?.()));
  }

  /** Totals over every sink (each sink counts its own deliveries), and the deepest backlog. */
  stats(): Omit<AuditorStats, 'errors'> {
    const total = zeroStats();
    const sinks: Record<string, SinkStats> = {};
    let deepest = 0;
    for (const [i, lane] of this.lanes.entries()) {
      const c = lane.counters;
      for (const k of ['delivered', 'dropped', 'retried', 'spilled', 'failed'] as const)
        total[k] += c[k];
      sinks[lane.sink.name in sinks ? `${lane.sink.name}#${i}` : lane.sink.name] = { ...c };
      deepest = Math.max(deepest, lane.depth);
    }
    total.dropped += this.refused;
    return { ...total, enqueued: this.pushed, queued: this.pending.length + deepest, sinks };
  }
}
