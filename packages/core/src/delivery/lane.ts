import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent, Sink, SinkStats } from '../types.js';
import { Reasons } from '../taxonomy.js';
import { createBatch } from './batch.js';
import { SpillFile } from './spill.js';

/** What happens to an event that does not fit a sink's queue. */
export type OverflowPolicy = 'drop' | 'spill' | 'block';

export interface LaneOptions {
  maxQueue: number;
  maxBytes: number;
  maxBatch: number;
  overflow: OverflowPolicy;
  /** Retries of a failed write before its events are dropped (`drop` only; the others never give up). */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const zeroStats = (): SinkStats => ({
  enqueued: 0,
  delivered: 0,
  dropped: 0,
  retried: 0,
  spilled: 0,
  failed: 0,
});

/**
 * One sink's share of delivery: its own bounded queue (events and bytes), batches, retries with
 * exponential backoff and full jitter, and the overflow policy. Lanes are independent, so a sink
 * that is down does not hold back the others.
 */
export class Lane {
  readonly counters = zeroStats();
  private events: AuditEvent[] = [];
  /** The native line of each queued event (same index). */
  private lines: string[] = [];
  private bytes = 0;
  private draining: Promise<void> | undefined;
  /** The spill file holds events not yet delivered: new events go there too, to keep order. */
  private spilling = false;
  private unreported = 0;
  private stopping = false;
  private roomWaiters: (() => void)[] = [];
  /** Overflow: events that arrived while the queue was full, in order. */
  private readonly spill: SpillFile | undefined;
  /**
   * Events older than everything in `spill`: a batch whose write failed and what was queued behind
   * it, or what was queued at close. Replayed first.
   */
  private readonly head: SpillFile | undefined;
  private headActive = false;
  /** Cuts a retry's backoff short when the lane stops. */
  private readonly abort = new AbortController();

  constructor(
    readonly sink: Sink,
    private readonly o: LaneOptions,
    spillPath: string | undefined,
    private readonly onFailure: (sink: Sink, error: unknown, events: number) => void,
    private readonly onDropsReported: (sink: string, dropped: number) => void,
  ) {
    const lost = (events: number, error: unknown) => {
      this.counters.dropped += events;
      this.unreported += events;
      onFailure(sink, error, events);
    };
    if (spillPath !== undefined) {
      this.spill = new SpillFile(spillPath, lost);
      this.head = new SpillFile(spillPath.replace(/\.jsonl$/, '.head.jsonl'), lost);
      this.headActive = this.head.recover();
      this.spilling = this.spill.recover() || this.headActive;
      if (this.spilling) this.start();
    }
  }

  /** Events held in memory and in the spill file. */
  get depth(): number {
    return this.events.length + (this.spill?.backlog ?? 0) + (this.head?.backlog ?? 0);
  }

  get full(): boolean {
    return this.events.length >= this.o.maxQueue || this.bytes >= this.o.maxBytes;
  }

  /** Takes an event into the queue (or applies the overflow policy); {@link start} sends it. */
  accept(event: AuditEvent, line: string): void {
    if (this.spilling) return this.toSpill(line);
    // A report of dropped events is never dropped itself: one per successful write at most.
    if (this.full && event.reason !== Reasons.EVENTS_DROPPED) {
      if (this.o.overflow === 'spill') {
        this.spilling = true;
        return this.toSpill(line);
      }
      if (this.o.overflow === 'drop') {
        this.counters.dropped++;
        this.unreported++;
        return;
      }
      // block: the auditor holds new requests back while any lane is full; what is in flight fits.
    }
    this.events.push(event);
    this.lines.push(line);
    this.bytes += line.length;
    this.counters.enqueued++;
  }

  /** Resolves when this lane has room again (for `block`). */
  room(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when everything accepted so far was delivered (or given up under `drop`). */
  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
    await this.spill?.settled();
  }

  /**
   * Delivers what it can within `graceMs`, then stops retrying: under `spill` what is left stays in
   * the spill file for the next process; otherwise it is dropped and counted.
   */
  async stop(graceMs: number): Promise<void> {
    const grace = new AbortController();
    await Promise.race([
      this.flush(),
      sleep(graceMs, undefined, { ref: false, signal: grace.signal }).catch(() => undefined),
    ]);
    grace.abort();
    this.stopping = true;
    this.abort.abort();
    await this.flush();
    const left = this.lines.splice(0);
    this.events.length = 0;
    this.bytes = 0;
    if (this.head) this.toHead(left);
    else this.counters.dropped += left.length;
    await Promise.all([this.head?.settled(), this.spill?.settled()]);
  }

  private toSpill(line: string): void {
    this.counters.enqueued++;
    this.spill!.append(line);
    this.counters.spilled++;
  }

  private toHead(lines: string[]): void {
    if (lines.length === 0) return;
    for (const line of lines) this.head!.append(line);
    this.counters.spilled += lines.length;
    this.headActive = this.spilling = true;
  }

  /** Starts delivering what was accepted (called once per dispatch, so a turn's events share a batch). */
  start(): void {
    if (this.draining !== undefined) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (!this.stopping && (this.events.length > 0 || this.spilling)) this.start();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      if (this.events.length > 0) {
        const n = Math.min(this.events.length, this.o.maxBatch);
        const take = this.events.splice(0, n);
        const lines = this.lines.splice(0, n);
        for (const line of lines) this.bytes -= line.length;
        this.wakeRoomWaiters();
        if (!(await this.deliver(take, lines, false)) && this.head) {
          // spill: a failed batch and everything queued behind it go to disk ahead of the overflow,
          // and are retried from there.
          this.toHead([...lines, ...this.lines.splice(0)]);
          this.events.length = 0;
          this.bytes = 0;
          this.wakeRoomWaiters();
        }
      } else if (this.spilling && this.spill && this.head) {
        const file = this.headActive ? this.head : this.spill;
        const { events, lines, commit } = await file.read(this.o.maxBatch);
        if (events.length === 0) {
          if (await file.drained()) {
            if (file === this.head) this.headActive = false;
            else this.spilling = this.headActive;
          }
          if (!this.spilling || this.stopping) return;
          continue;
        }
        if (await this.deliver(events, lines, true)) await commit();
      } else return;
    }
  }

  /**
   * Writes one batch, retrying with backoff. True when the sink took it. Under `drop` it gives up
   * after `retries` and counts the events dropped; a replay from the spill file retries until stopped;
   * a first failure of a memory batch under `spill` returns false at once (the caller spills it).
   */
  private async deliver(
    events: AuditEvent[],
    lines: string[],
    fromSpill: boolean,
  ): Promise<boolean> {
    const batch = createBatch(events, lines);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sink.write(batch);
        this.counters.delivered += events.length;
        if (this.unreported > 0) {
          const dropped = this.unreported;
          this.unreported = 0;
          this.onDropsReported(this.sink.name, dropped);
        }
        return true;
      } catch (error) {
        this.counters.failed++;
        this.onFailure(this.sink, error, events.length);
      }
      if (this.spill && !fromSpill) return false;
      if (this.stopping || (this.o.overflow === 'drop' && attempt >= this.o.retries)) {
        if (fromSpill) return false;
        this.counters.dropped += events.length;
        this.unreported += events.length;
        return false;
      }
      this.counters.retried += events.length;
      // Exponential backoff with jitter: spreads the retries of many instances. A replay from the
      // spill file does not keep the process alive (its events are safe on disk); the others do.
      const ceiling = Math.min(this.o.maxDelayMs, this.o.minDelayMs * 2 ** attempt);
      const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
      await sleep(delay, undefined, { ref: !fromSpill, signal: this.abort.signal }).catch(
        () => undefined,
      );
    }
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0 || this.full) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }
}
