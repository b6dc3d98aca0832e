/**
 * Flushing on the way out, for every auditor that did not opt out (`delivery.handleSignals`).
 * On SIGTERM / SIGINT: when authtrail's listener is the only one, the auditors are closed (which
 * ends their hash chains) and the signal is raised again, so the process ends as it would have;
 * when the app listens too, they are only flushed and the app decides when to exit. On
 * `beforeExit`, whatever is still queued is flushed.
 */
interface Closable {
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): { queued: number };
}

const live = new Set<Closable>();
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

function onSignal(signal: NodeJS.Signals): void {
  const alone = process.listenerCount(signal) === 1;
  // Alone: close (new requests are held, those in flight are recorded, chains end). Otherwise: flush.
  const auditors = [...live];
  void Promise.allSettled(auditors.map((a) => (alone ? a.close() : a.flush()))).then(() => {
    if (!alone) return;
    uninstall();
    process.kill(process.pid, signal);
  });
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

/** Watches `auditor` until the returned function is called (on close). */
export function flushOnExit(auditor: Closable): () => void {
  if (live.size === 0) install();
  live.add(auditor);
  return () => {
    if (live.delete(auditor) && live.size === 0) uninstall();
  };
}
