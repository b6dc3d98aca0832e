/** What {@link timely} got: Redis's answer, or why there is none. */
export type Timely = { raw: string } | { problem: string; late: boolean };

/**
 * Runs `call` once the client is `connected`, giving up after `timeoutMs`: a request never waits
 * on Redis longer than that, whether Redis is slow, frozen or reconnecting. The problem names what
 * happened, never a key, an argument or the URL.
 */
export async function timely(
  connected: (signal: AbortSignal) => Promise<void>,
  call: () => Promise<string>,
  timeoutMs: number,
): Promise<Timely> {
  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('late')), timeoutMs);
    timer.unref();
  });
  try {
    return { raw: await Promise.race([connected(abort.signal).then(call), late]) };
  } catch (error) {
    const message = (error as Error).message;
    return message === 'late'
      ? { problem: `did not answer within ${timeoutMs} ms`, late: true }
      : { problem: `failed (${message.slice(0, 200)})`, late: false };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
