import {
  createAuditor,
  type AuditEvent,
  type Auditor,
  type AuthtrailOptions,
  type Batch,
  type Sink,
} from '@authtrail/core';

/** Anything that can be flushed: another auditor, the demo stack, a sink. */
export interface Flushable {
  flush(): Promise<void>;
}

/** Options of {@link createTestAuditor}: every core option, plus a deterministic clock and ids. */
export interface TestAuditorOptions extends Omit<AuthtrailOptions, 'clock' | 'ids'> {
  /**
   * Fix event times. A start (`Date` or Unix ms): the first event gets it, every later one a
   * millisecond more, so order stays visible. A function: called once per event.
   * @default the real arrival time of each request
   */
  clock?: Date | number | (() => number);
  /**
   * Fix event ids. `'sequential'`: UUIDv7-shaped ids counting up from
   * `00000000-0000-7000-8000-000000000001`, restarting at `clear()`. A function: called per event.
   * @default random UUIDv7
   */
  ids?: 'sequential' | ((timeMs: number) => string);
  /**
   * `observer.adapter` of the events recorded through the test auditor itself. Events an adapter
   * saw (or recorded through `req.audit`) name that adapter: `'express'`, `'koa'`, `'fastify'`.
   * @default 'test'
   */
  adapter?: string;
  /**
   * Heartbeats (`audit.heartbeat.success`) come from a timer, so a test would capture one or not
   * depending on how long it ran: off unless a test asks for them.
   * @default false
   */
  heartbeat?: number | false;
}

/** A sink that keeps every event and every byte written: give it to auditors you did not create. */
export interface CaptureSink extends Sink {
  readonly events: readonly AuditEvent[];
  /** Every byte written, in order (the JSON lines a stdout or file sink would have written). */
  text(): string;
  clear(): void;
}

/** An auditor for tests, with what it captured. */
export interface TestAuditor {
  /** Hand it to an adapter: `app.use(authtrail({ auditor: audit.auditor }))`. */
  readonly auditor: Auditor;
  /** The capture sink: pass it to auditors created elsewhere (`sinks: [audit.sink]`). */
  readonly sink: CaptureSink;
  /**
   * Events delivered so far. Delivery is asynchronous: read it after `await audit.flush()`, or
   * use the matchers, which flush first.
   */
  readonly events: readonly AuditEvent[];
  /**
   * Every byte written so far: the capture sink's JSON lines, then whatever the `sinks` you added
   * serialised (in their formats), in order. `toHaveNoSecrets()` scans all of it.
   */
  text(): string;
  /** Resolves once every event recorded so far (here and by tracked auditors) was delivered. */
  flush(): Promise<void>;
  /** Forgets what was captured (and restarts sequential ids and the clock). */
  clear(): void;
  /** Flush these too whenever this test auditor flushes (auditors writing to `sink`, the demo stack). */
  track(...others: Flushable[]): TestAuditor;
  /** Flushes and closes the auditor. */
  close(): Promise<void>;
}

/** Shared by every test auditor, so fingerprints are the same across test files and runs. Not a secret. */
const TEST_FINGERPRINT_KEY = 'authtrail-test-fingerprint-key-not-a-secret';

function captureSink(): CaptureSink {
  const events: AuditEvent[] = [];
  const chunks: string[] = [];
  return {
    name: 'test',
    events,
    write(batch: Batch) {
      for (const event of batch.events) events.push(event);
      chunks.push(batch.lines());
    },
    text: () => chunks.join(''),
    clear() {
      events.length = 0;
      chunks.length = 0;
    },
  };
}

/**
 * Creates an auditor that captures its events in memory, for tests. It works with every adapter;
 * the matchers of `@authtrail/jest/setup` read it.
 * @example
 * const audit = createTestAuditor({ clock: new Date('2025-01-01T00:00:00Z'), ids: 'sequential' });
 * app.use(authtrail({ auditor: audit.auditor }));
 * await request(app).get('/items').set(bearer(token)).expect(200);
 * await expect(audit).toHaveAuditEvent('api.access.success', { user: { id: 'alice' } });
 */
export function createTestAuditor(options: TestAuditorOptions = {}): TestAuditor {
  const { clock, ids, adapter = 'test', sinks = [], ...rest } = options;
  const sink = captureSink();
  // What the other sinks serialise (a stdout sink writing ECS ...) is captured as they ask for it.
  const written: string[] = [];
  const tee = (batch: Batch): Batch => ({
    events: batch.events,
    lines: (...args: Parameters<Batch['lines']>) => {
      const text = batch.lines(...args);
      written.push(text);
      return text;
    },
  });
  const teed = (Array.isArray(sinks) ? sinks : []).map((other): Sink =>
    other === null || typeof other !== 'object' || typeof other.write !== 'function'
      ? other // core reports it
      : {
          name: other.name,
          write: (batch) => other.write(tee(batch)),
          ...(other.flush ? { flush: () => other.flush!() } : {}),
          ...(other.close ? { close: () => other.close!() } : {}),
        },
  );
  // Counters of the deterministic clock and ids, restarted by clear().
  let ticks = 0;
  let seq = 0;
  const start =
    clock instanceof Date ? clock.getTime() : typeof clock === 'number' ? clock : undefined;
  const auditor = createAuditor({
    service: 'test',
    keys: { fingerprint: TEST_FINGERPRINT_KEY },
    heartbeat: false,
    ...rest,
    sinks: Array.isArray(sinks) ? [sink, ...teed] : sinks, // core reports a non-array
    // Anything else is handed to core as is, which reports it like every other broken option.
    clock: start === undefined ? (clock as AuthtrailOptions['clock']) : () => start + ticks++,
    ids:
      ids === 'sequential'
        ? () => `00000000-0000-7000-8000-${(++seq).toString(16).padStart(12, '0')}`
        : ids,
    // Core's label for the auditor's own events (a symbol: no option of the public type).
    [Symbol.for('authtrail.adapter')]: adapter,
  });
  const tracked = new Set<Flushable>();

  const audit: TestAuditor = {
    auditor,
    sink,
    events: sink.events,
    text: () => sink.text() + written.join(''),
    async flush() {
      // A response's `close` event, which makes the adapter observe it, may still be one turn away.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([auditor.flush(), ...[...tracked].map((t) => t.flush())]);
    },
    clear() {
      sink.clear();
      written.length = 0;
      ticks = 0;
      seq = 0;
    },
    track(...others) {
      for (const other of others) tracked.add(other);
      return audit;
    },
    close: () => auditor.close(),
  };
  return audit;
}
