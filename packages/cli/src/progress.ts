// A progress bar on standard error for long commands (import): only on a terminal, redrawn at most
// ten times a second, erased before anything else is written there.

/** What the bar shows: how far through the input (bytes) and how many events so far. */
export interface ProgressState {
  bytes: number;
  events: number;
}

export interface Progress {
  /** Redraws the bar if the last draw is 100 ms old. */
  tick(): void;
  /** Erases the bar (before a message, or at the end). */
  clear(): void;
}

const WIDTH = 24;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * A bar over `total` bytes: `[#####-----]  42%  1,234,567 events  81,234/s  ETA 0:12`. Nothing
 * when standard error is not a terminal (a log file, CI): the summary line says it all there.
 */
export function progressBar(
  state: ProgressState,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (stream.isTTY !== true) return { tick() {}, clear() {} };
  const started = performance.now();
  let last = 0;
  let shown = false;
  return {
    tick() {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      const seconds = (now - started) / 1000;
      const share = total > 0 ? Math.min(1, state.bytes / total) : 0;
      const filled = Math.round(share * WIDTH);
      const rate = seconds > 0 ? state.events / seconds : 0;
      const eta = share > 0 ? (seconds * (1 - share)) / share : Infinity;
      stream.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ` +
          `${state.events.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')}/s  ETA ${duration(eta)}\x1b[K`,
      );
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
      last = 0;
    },
  };
}
