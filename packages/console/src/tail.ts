// The live tail: server-sent events of new events matching a query. It asks the store every
// `tailPollMs` for the events after the last one seen (keyset paging), so it works across
// instances writing one store; it sends at most `tailRate` events a second and counts the rest in
// a `more` message, so a flood cannot drown the page.
import type { ServerResponse } from 'node:http';
import type { StoreFilter } from '@authtrail/store';
import { encodeCursor } from '@authtrail/store';
import type { ResolvedConsole } from './options.js';
import { safeJson } from './internal/http.js';
import { within } from './internal/range.js';

const PAGE = 1000;
/** Pages read in one poll at most: a backlog past that is skipped over in later polls. */
const MAX_PAGES = 10;
const NO_ID = '00000000-0000-0000-0000-000000000000';

export interface TailEnd {
  /** Events sent, and events that matched but were only counted. */
  sent: number;
  more: number;
}

/**
 * Streams until the client goes away or `stop` is called; `onEnd` is called once, then.
 * Returns `stop`.
 */
export function openTail(
  o: ResolvedConsole,
  res: ServerResponse,
  where: StoreFilter | undefined,
  onEnd: (end: TailEnd) => void,
): () => void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  // Proxies that buffer (nginx) would hold the stream back.
  res.setHeader('X-Accel-Buffering', 'no');
  res.write(': authtrail live tail\nretry: 2000\n\n');

  // From now on: events stored later with an earlier time than the last one seen are not sent.
  let after = encodeCursor({ time: new Date(), id: NO_ID });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const end: TailEnd = { sent: 0, more: 0 };
  let windowStart = Date.now();
  let inWindow = 0;

  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${safeJson(data)}\n\n`);

  const poll = async () => {
    timer = undefined;
    if (closed) return;
    try {
      let skipped = 0;
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = await within(
          o.store.query({ where, order: 'asc', after, limit: PAGE }),
          o.timeoutMs,
        );
        if (closed) return;
        for (const event of page.events) {
          const now = Date.now();
          if (now - windowStart >= 1000) {
            windowStart = now;
            inWindow = 0;
          }
          if (inWindow < o.tailRate) {
            inWindow++;
            end.sent++;
            send('event', event);
          } else skipped++;
        }
        const last = page.events.at(-1);
        if (last) after = encodeCursor(last);
        if (page.events.length < PAGE) break;
      }
      if (skipped > 0) {
        end.more += skipped;
        send('more', { more: skipped });
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      send('error', {
        code: code === 'timeout' ? 'timeout' : 'store_failed',
        message: 'the store did not answer; the tail stops',
      });
      stop();
      return;
    }
    if (!closed) timer = setTimeout(() => void poll(), o.tailPollMs);
  };

  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), o.heartbeatMs);
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (timer) clearTimeout(timer);
    res.end();
    onEnd(end);
  };
  res.on('close', stop);
  timer = setTimeout(() => void poll(), 0);
  return stop;
}
