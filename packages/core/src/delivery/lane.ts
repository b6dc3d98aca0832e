import { setTimeout as sleep } from 'node:timers/promises';
import { Reasons, type AuditEvent } from '@authtrail/schema';
import type { Sink, SinkStats } from '../types.js';
import { within } from '../internal/deadline.js';
import { createBatch } from './batch.js';
import { Quarantine, SpillFile } from './spill.js';
import { adoptOrphans, spillDir, takeSlot, type SpillSlot } from './spill-slot.js';
import type { LaneOptions } from './options.js';

/** Where a lane spills: its directory, and the stem of its files' names (`<service>.<n>-<sink>`). */
export interface SpillPlace {
  dir: string;
  stem: string;
}

/** What a lane tells the auditor, which records it as an `audit.delivery.failure` event. */
export interface LaneReports {
  /** Events were dropped; told once the sink accepts again, so the report is not lost with them. */
  dropped(sink: string, dropped: number): void;
  /** Spilled records could not be read back and were moved to the quarantine file `path`. */
  quarantined(sink: string, records: number, path: string): void;
}

/**
 * After the delivery deadline of `close()`, how long writing what is left to the spill file may
 * take before the lane gives up on it too.
 */
export const SPILL_MARGIN_MS = 100;

export const zeroStats = (): SinkStats => ({
  enqueued: 0,
  delivered: 0,
  dropped: 0,
  retried: 0,
  spilled: 0,
  failed: 0,
  quarantined: 0,
});

/** The spill files of one slot: failed batches (`head`, replayed first) and overflow (`tail`). */
interface SlotFiles {
  slot: SpillSlot;
  head: SpillFile;
  tail: SpillFile;
}

/** A batch handed to the sink and not yet answered. */
interface Flight {
  lines: string[];
  fromSpill: boolean;
  /** Given up on by `stop()`: whatever the sink answers later changes nothing. */
  abandoned: boolean;
}

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
  /** Spill files hold events not yet delivered: new events go there too, to keep order. */
  private spilling = false;
  private unreported = 0;
  private stopping = false;
  /** Past the deadline of `stop()`: nothing is delivered, spilled or counted by this lane again. */
  private stopped = false;
  private flight: Flight | undefined;
  private roomWaiters: (() => void)[] = [];
  /** This lane's own slot, taken when it first spills and given up when its files are read back. */
  private own: SlotFiles | undefined;
  /** True while `own.head` holds events: they are older than everything in `own.tail`. */
  private headActive = false;
  /** Files of slots nobody else holds (a dead process's): replayed first, then given up. */
  private readonly orphans: { file: SpillFile; slot?: SpillSlot }[] = [];
  /** Cuts a retry's backoff short when the lane stops. */
  private readonly abort = new AbortController();
  private readonly lost: (events: number, error: unknown) => void;

  constructor(
    readonly sink: Sink,
    private readonly o: LaneOptions,
    private readonly place: SpillPlace | undefined,
    private readonly onFailure: (sink: Sink, error: unknown, events: number) => void,
    private readonly reports: LaneReports,
  ) {
    this.lost = (events, error) => {
      this.counters.dropped += events;
      this.unreported += events;
      onFailure(sink, error, events);
    };
    if (place !== undefined) {
      spillDir(place.dir);
      // What earlier processes left: replayed before anything this one records.
      for (const slot of adoptOrphans(place.dir, place.stem)) {
        const files = this.slotFiles(slot);
        try {
          files.head.recover();
          files.tail.recover();
        } catch (error) {
          // A file we cannot open (permissions, a directory in its place): left for an operator,
          // never a crash at start.
          onFailure(sink, error, 0);
          slot.release();
          continue;
        }
        this.orphans.push({ file: files.head }, { file: files.tail, slot });
      }
      if (this.orphans.length > 0) {
        this.spilling = true;
        this.start();
      }
    }
  }

  /** Events held in memory and in the spill files. */
  get depth(): number {
    let n = this.events.length + (this.own ? this.own.head.backlog + this.own.tail.backlog : 0);
    for (const { file } of this.orphans) n += file.backlog;
    return n;
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
    // After stop() a write may hang forever in the sink: nothing is waited for any more.
    while (this.draining !== undefined && !this.stopped) await this.draining;
    await Promise.all([this.own?.head.settled(), this.own?.tail.settled()]);
  }

  /**
   * Delivers what it can until `deadline` (a `Date.now()` time), then stops, whatever the sink is
   * doing: a batch still in the sink's hands, and what is queued behind it, go to the spill file
   * under `spill` (written within {@link SPILL_MARGIN_MS} more) and are dropped and counted
   * otherwise. A batch being replayed from a spill file stays there for the next process.
   */
  async stop(deadline: number): Promise<void> {
    await within(this.flush(), deadline);
    this.stopping = true;
    this.abort.abort();
    // Backoffs are cut short: a lane that is not waiting on its sink ends at once.
    await within(this.flush(), deadline);
    this.stopped = true;
    const flight = this.flight;
    const left: string[] = [];
    if (flight) {
      flight.abandoned = true;
      if (!flight.fromSpill) left.push(...flight.lines);
    }
    left.push(...this.lines.splice(0));
    this.events.length = 0;
    this.bytes = 0;
    if (this.place) this.toHead(left);
    else this.counters.dropped += left.length;
    const own = this.own;
    await within(
      Promise.all([own?.head.settled(), own?.tail.settled()]),
      Math.max(deadline, Date.now()) + SPILL_MARGIN_MS,
    );
    // The files stay for whoever takes the slots next (another start of this service).
    own?.slot.release();
    for (const { slot } of this.orphans) slot?.release();
    this.wakeRoomWaiters();
  }

  private slotFiles(slot: SpillSlot): SlotFiles {
    const quarantine = new Quarantine(
      `${slot.base}.quarantine`,
      (records, path) => {
        this.counters.quarantined += records;
        this.reports.quarantined(this.sink.name, records, path);
      },
      this.lost,
    );
    return {
      slot,
      head: new SpillFile(`${slot.base}.head.jsonl`, quarantine, this.lost),
      tail: new SpillFile(`${slot.base}.jsonl`, quarantine, this.lost),
    };
  }

  /** This lane's own slot, taken on first use: a second auditor or process gets another one. */
  private ownFiles(): SlotFiles | undefined {
    if (this.own) return this.own;
    try {
      this.own = this.slotFiles(takeSlot(this.place!.dir, this.place!.stem));
    } catch (error) {
      this.onFailure(this.sink, error, 0);
      return undefined;
    }
    // A slot given up with files in it (an auditor that closed before its sink took everything).
    try {
      this.headActive = this.own.head.recover();
      this.own.tail.recover();
    } catch (error) {
      this.onFailure(this.sink, error, 0);
      this.own.slot.release();
      this.own = undefined;
    }
    return this.own;
  }

  private toSpill(line: string): void {
    if (this.stopped) {
      this.counters.dropped++;
      return;
    }
    this.counters.enqueued++;
    const own = this.ownFiles();
    if (own === undefined) {
      this.counters.dropped++;
      this.unreported++;
      return;
    }
    own.tail.append(line);
    this.counters.spilled++;
  }

  private toHead(lines: string[]): void {
    if (lines.length === 0) return;
    const own = this.ownFiles();
    if (own === undefined) {
      this.counters.dropped += lines.length;
      this.unreported += lines.length;
      return;
    }
    for (const line of lines) own.head.append(line);
    this.counters.spilled += lines.length;
    this.headActive = this.spilling = true;
  }

  /** Starts delivering what was accepted (called once per dispatch, so a turn's events share a batch). */
  start(): void {
    if (this.draining !== undefined || this.stopped) return;
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
        const delivered = await this.deliver(take, lines, false);
        if (this.stopped) return;
        if (!delivered && this.place) {
          // spill: a failed batch and everything queued behind it go to disk ahead of the overflow,
          // and are retried from there.
          this.toHead([...lines, ...this.lines.splice(0)]);
          this.events.length = 0;
          this.bytes = 0;
          this.wakeRoomWaiters();
        }
      } else if (this.spilling) {
        await this.replay();
        if (!this.spilling) return;
      } else return;
    }
  }

  /** Delivers one batch from the oldest spill file, or moves on when that file is read back. */
  private async replay(): Promise<void> {
    const file = this.orphans[0]?.file ?? (this.headActive ? this.own?.head : this.own?.tail);
    if (file === undefined) {
      this.spilling = false;
      return;
    }
    try {
      const { events, lines, commit } = await file.read(this.o.maxBatch);
      // Stopped meanwhile: the slot may already belong to another auditor; the records stay on disk.
      if (this.stopping) return;
      if (events.length > 0) {
        if ((await this.deliver(events, lines, true)) && !this.stopped) await commit();
      } else if (await file.drained()) this.readBack(file);
    } catch (error) {
      // The disk failed us (not the records: those are quarantined). Retried later, never in a loop.
      this.onFailure(this.sink, error, 0);
      await sleep(this.o.maxDelayMs, undefined, { ref: false, signal: this.abort.signal }).catch(
        () => undefined,
      );
    }
  }

  /** `file` was read back to its end and removed. */
  private readBack(file: SpillFile): void {
    if (this.orphans[0]?.file === file) {
      this.orphans.shift()!.slot?.release();
    } else if (file === this.own?.head) {
      this.headActive = false;
    } else if (file === this.own?.tail && !this.headActive) {
      if (this.own.head.empty && this.own.tail.empty) {
        this.own.slot.release();
        this.own = undefined;
      }
    }
    this.spilling = this.orphans.length > 0 || this.headActive || this.own !== undefined;
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
      const flight: Flight = { lines, fromSpill, abandoned: false };
      this.flight = flight;
      try {
        await this.sink.write(batch);
        if (flight.abandoned) return false;
        this.counters.delivered += events.length;
        if (this.unreported > 0) {
          const dropped = this.unreported;
          this.unreported = 0;
          this.reports.dropped(this.sink.name, dropped);
        }
        return true;
      } catch (error) {
        if (flight.abandoned) return false;
        this.counters.failed++;
        this.onFailure(this.sink, error, events.length);
      } finally {
        if (this.flight === flight) this.flight = undefined;
      }
      if (this.place && !fromSpill) return false;
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
      // Stopped during the backoff: the deadline has passed, no new attempt.
      if (this.stopping) {
        if (!fromSpill) this.counters.dropped += events.length;
        return false;
      }
    }
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0 || this.full) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }
}
