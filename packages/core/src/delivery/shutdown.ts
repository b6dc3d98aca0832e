/**
 * Flushing on the way out, for every auditor that did not opt out (`delivery.handleSignals`).
 * On SIGTERM / SIGINT: when authtrail's listener is the only one, the auditors are closed (which
 * ends their hash chains) and the signal is raised again, so the process ends as it would have;
 * when the app listens too, they are only flushed and the app decides when to exit. On
 * `beforeExit`, whatever is still queued is flushed.
 *
 * Our listener suppresses the signal's default action, so it must end the process itself whatever
 * the sinks do: the signal is raised again once the auditors closed, and at the latest
 * {@link HARD_STOP_MARGIN_MS} after the longest `closeTimeoutMs` (a sink stuck on a collector
 * that never answers, or on a pipe nobody reads, cannot keep the process alive).
 */
import { SHUTDOWN_KEY } from '../node/symbols.js';

interface Closable {
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): { queued: number };
  closeTimeoutMs: number;
}

/**
 * How long after `closeTimeoutMs` a signal ends the process if closing has not: more than the
 * margin `close()` itself may take (queue.ts `CLOSE_MARGIN_MS`), so a close that keeps its
 * deadline always finishes first.
 */
export const HARD_STOP_MARGIN_MS = 500;

/**
 * The process's one registry: what the first copy of authtrail to load (the ESM or the CommonJS
 * build, or another version) put on `globalThis`. Per module copy, an app loading both builds got
 * two SIGTERM listeners, each counting the other as the app's and so only flushing.
 */
interface Registry {
  flushOnExit(auditor: Closable): () => void;
}

const live = new Set<Closable>();
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Set while closing on a signal: a second signal (Ctrl-C pressed again) ends the process at once. */
let closingOnSignal = false;

function onSignal(signal: NodeJS.Signals): void {
  const alone = process.listenerCount(signal) === 1;
  // Alone: close (new requests are held, those in flight are recorded, chains end). Otherwise: flush.
  const auditors = [...live];
  if (!alone) {
    void Promise.allSettled(auditors.map((a) => a.flush()));
    return;
  }
  let raised = false;
  const raise = () => {
    if (raised) return;
    raised = true;
    uninstall();
    process.kill(process.pid, signal);
  };
  if (closingOnSignal) return raise();
  closingOnSignal = true;
  const longest = Math.max(0, ...auditors.map((a) => a.closeTimeoutMs));
  // Kept referenced: it must fire even when nothing else is left on the event loop.
  setTimeout(raise, longest + HARD_STOP_MARGIN_MS);
  void Promise.allSettled(auditors.map((a) => a.close())).then(raise);
}

function onBeforeExit(): void {
  for (const a of live) if (a.stats().queued > 0) void a.flush().catch(() => undefined);
}

function install(): void {
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('beforeExit', onBeforeExit);
}

function uninstall(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('beforeExit', onBeforeExit);
}

const registry: Registry = ((globalThis as { [SHUTDOWN_KEY]?: Registry })[SHUTDOWN_KEY] ??= {
  flushOnExit(auditor) {
    if (live.size === 0) install();
    live.add(auditor);
    return () => {
      if (live.delete(auditor) && live.size === 0) uninstall();
    };
  },
});

/** Watches `auditor` until the returned function is called (on close). */
export function flushOnExit(auditor: Closable): () => void {
  return registry.flushOnExit(auditor);
}
