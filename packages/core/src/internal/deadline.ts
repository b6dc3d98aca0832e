import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `work` until `deadline` (a `Date.now()` time) at most; never rejects. The timer keeps
 * the process alive while it waits (a script that awaits `close()` must see it through), and is
 * cancelled as soon as `work` settles.
 */
export async function within(work: Promise<unknown>, deadline: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([
    work.catch(() => undefined),
    sleep(Math.max(0, deadline - Date.now()), undefined, { signal: timer.signal }).catch(
      () => undefined,
    ),
  ]);
  timer.abort();
}
