import type { AuditEvent } from '@authtrail/core';
import { listing, matches, nearest } from './internal/match.js';
import { ACCEPTED, capture } from './internal/received.js';

/** Options of {@link waitForAuditEvent}. */
export interface WaitOptions {
  /** Give up after this many milliseconds. @default 5000 */
  timeout?: number;
  /** Look again every this many milliseconds. @default 10 */
  interval?: number;
}

/**
 * Resolves with the first event of `type` whose fields match, once it has arrived: for events
 * that come later than the response (an auditor you cannot flush, a background job). Rejects
 * after `timeout` with the nearest events recorded.
 * @example
 * const event = await waitForAuditEvent(audit, 'authn.logout.success', { user: { id: 'alice' } });
 */
export async function waitForAuditEvent(
  audit: unknown,
  type: string,
  fields: Record<string, unknown> = {},
  { timeout = 5000, interval = 10 }: WaitOptions = {},
): Promise<AuditEvent> {
  const expected = { type, ...fields };
  const deadline = Date.now() + timeout;
  for (;;) {
    const captured = await capture(audit);
    if (!captured) throw new TypeError(`waitForAuditEvent needs ${ACCEPTED}`);
    const found = captured.events.find((e) => matches(e, expected));
    if (found) return found;
    if (Date.now() >= deadline) {
      const close = nearest(captured.events, expected)
        .map(({ index, event }) => `Nearest: #${index} ${JSON.stringify(event, null, 2)}`)
        .join('\n');
      throw new Error(
        `waitForAuditEvent: no event matching ${JSON.stringify(expected)} within ${timeout} ms.\n` +
          `${listing(captured.events)}${close ? `\n${close}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
