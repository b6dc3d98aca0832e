// The delivery options as the pipeline uses them, resolved: types only, so that what reads them
// (options.ts, and through it the event builder) does not import the queue, the lanes and the
// spill files that implement them.

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

export interface DeliveryOptions extends LaneOptions {
  maxWaitMs: number;
  /** Directory of the spill files (`overflow: 'spill'`). */
  spillDir: string | undefined;
  /** How long `close()` keeps delivering before it gives up on a failing sink. */
  closeTimeoutMs: number;
}
