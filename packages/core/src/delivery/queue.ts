import { channel } from 'node:diagnostics_channel';
import type { AuditEvent, Sink } from '../types.js';
import { createBatch } from './batch.js';

/** Published when a sink write fails: `{ sink, error, events }`. Subscribe to watch delivery. */
export const sinkErrorChannel = channel('authtrail:sink-error');

export interface QueueCounters {
  enqueued: number;
  delivered: number;
  dropped: number;
  failed: number;
}

/**
 * A bounded in-memory queue between the request path and the sinks. `push` never blocks and never
 * throws: when the queue is full the event is dropped and counted. A single drain loop hands
 * batches to every sink and waits for all of them before the next batch, so a slow sink makes
 * the queue fill (and then drop) instead of growing memory without bound.
 */
export class DeliveryQueue {
  readonly counters: QueueCounters = { enqueued: 0, delivered: 0, dropped: 0, failed: 0 };
  private events: AuditEvent[] = [];
  private draining: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly sinks: readonly Sink[],
    private readonly bounds: { maxQueue: number; maxBatch: number; maxWaitMs: number },
  ) {}

  get depth(): number {
    return this.events.length;
  }

  push(event: AuditEvent): void {
    if (this.events.length >= this.bounds.maxQueue) {
      this.counters.dropped++;
      return;
    }
    this.events.push(event);
    this.counters.enqueued++;
    if (!this.scheduled && this.draining === undefined) {
      this.scheduled = true;
      if (this.bounds.maxWaitMs > 0) setTimeout(this.startDrain, this.bounds.maxWaitMs).unref();
      else setImmediate(this.startDrain);
    }
  }

  private readonly startDrain = (): void => {
    this.scheduled = false;
    if (this.draining === undefined)
      this.draining = this.drain().finally(() => (this.draining = undefined));
  };

  private async drain(): Promise<void> {
    while (this.events.length > 0) {
      const take =
        this.events.length <= this.bounds.maxBatch
          ? this.events
          : this.events.slice(0, this.bounds.maxBatch);
      this.events = take === this.events ? [] : this.events.slice(take.length);
      const batch = createBatch(take);
      let allOk = true;
      await Promise.all(
        this.sinks.map(async (sink) => {
          try {
            await sink.write(batch);
          } catch (error) {
            allOk = false;
            this.counters.failed += take.length;
            if (sinkErrorChannel.hasSubscribers)
              sinkErrorChannel.publish({ sink: sink.name, error, events: take.length });
          }
        }),
      );
      if (allOk) this.counters.delivered += take.length;
    }
  }

  /** Resolves when every event queued so far has been handed to the sinks and they flushed. */
  async flush(): Promise<void> {
    while (this.events.length > 0 || this.draining !== undefined) {
      if (this.draining === undefined) this.startDrain();
      await this.draining;
    }
    await Promise.all(this.sinks.map((s) => s.flush?.()));
  }

  async close(): Promise<void> {
    await this.flush();
    await Promise.all(this.sinks.map((s) => s.close?.()));
  }
}
