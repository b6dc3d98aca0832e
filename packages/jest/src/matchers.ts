import type { AuditEvent } from '@authtrail/core';
import { listing, matches, nearest, subset, summary } from './internal/match.js';
import { ACCEPTED, capture, type Captured } from './internal/received.js';
import { scan } from './secrets.js';

/** The parts of jest's matcher context the matchers use (jest's own type is wider). */
export interface AuthtrailMatcherContext {
  isNot?: boolean;
  promise?: string;
  utils: {
    matcherHint(name: string, received?: string, expected?: string, options?: object): string;
    printExpected(value: unknown): string;
    printReceived(value: unknown): string;
    diff(a: unknown, b: unknown, options?: object): string | null;
  };
}

/** The result every jest matcher returns. */
export interface AuthtrailMatcherResult {
  pass: boolean;
  message(): string;
}

/** An audit event type with the fields to match, for sequences: `{ type, reason: 'token_expired' }`. */
export type AuditStep = string | ({ type: string } & Record<string, unknown>);

type Matcher<A extends unknown[]> = (
  this: AuthtrailMatcherContext,
  received: unknown,
  ...args: A
) => Promise<AuthtrailMatcherResult>;

function hint(ctx: AuthtrailMatcherContext, name: string, expected: string): string {
  return ctx.utils.matcherHint(name, 'audit', expected, {
    isNot: ctx.isNot,
    promise: ctx.promise,
  });
}

function notReadable(ctx: AuthtrailMatcherContext, name: string, received: unknown) {
  return {
    pass: Boolean(ctx.isNot), // fail whichever way it was asked
    message: () =>
      `${hint(ctx, name, '')}\n\nexpect(audit) needs ${ACCEPTED}.\nReceived: ${ctx.utils.printReceived(received)}`,
  };
}

function expectType(name: string, type: unknown): asserts type is string {
  if (typeof type !== 'string' || type === '') {
    throw new TypeError(
      `${name}: the event type must be a string such as 'api.access.success', received ${JSON.stringify(type)}`,
    );
  }
}

/** The nearest events to `expected`, each with a diff of the fields that were asked for. */
function nearestDiffs(
  ctx: AuthtrailMatcherContext,
  events: readonly AuditEvent[],
  expected: Record<string, unknown>,
  from = 0,
): string {
  const close = nearest(events, expected, 3, from);
  if (close.length === 0) return '';
  const blocks = close.map(({ index, event }) => {
    const diff = ctx.utils.diff(expected, subset(event, expected), {
      aAnnotation: 'Expected',
      bAnnotation: `Received #${index}`,
    });
    return `Nearest: #${index} ${summary(event)}\n${diff ?? ctx.utils.printReceived(event)}`;
  });
  return `\n\n${blocks.join('\n\n')}`;
}

const toStep = (step: AuditStep): Record<string, unknown> =>
  typeof step === 'string' ? { type: step } : { ...step };

/** `await expect(audit).toHaveAuditEvent(type, fields?)`: an event of `type` whose fields match. */
const toHaveAuditEvent: Matcher<[type: string, fields?: Record<string, unknown>]> = async function (
  received,
  type,
  fields = {},
) {
  const name = 'toHaveAuditEvent';
  expectType(name, type);
  const captured = await capture(received);
  if (!captured) return notReadable(this, name, received);
  const { events } = captured;
  const expected = { type, ...fields };
  const index = events.findIndex((e) => matches(e, expected));
  const shown = this.utils.printExpected(expected);
  if (index >= 0) {
    return {
      pass: true,
      message: () =>
        `${hint(this, name, 'type, fields')}\n\nExpected no event matching ${shown}\n` +
        `but #${index} does: ${this.utils.printReceived(events[index])}`,
    };
  }
  return {
    pass: false,
    message: () =>
      `${hint(this, name, 'type, fields')}\n\nExpected an event matching ${shown}\n\n` +
      listing(events) +
      nearestDiffs(this, events, expected),
  };
};

/**
 * `await expect(audit).toHaveAuditSequence(steps)`: events matching the steps in this order;
 * other events may come in between.
 */
const toHaveAuditSequence: Matcher<[steps: AuditStep[]]> = async function (received, steps) {
  const name = 'toHaveAuditSequence';
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new TypeError(
      `${name}: pass a non-empty array of event types or { type, ...fields }, received ${JSON.stringify(steps)}`,
    );
  }
  const wanted = steps.map(toStep);
  wanted.forEach((s) => expectType(name, s.type));
  const captured = await capture(received);
  if (!captured) return notReadable(this, name, received);
  const { events } = captured;
  const at: number[] = [];
  let from = 0;
  for (const step of wanted) {
    const i = events.findIndex((e, n) => n >= from && matches(e, step));
    if (i < 0) break;
    at.push(i);
    from = i + 1;
  }
  const steps$ = wanted
    .map(
      (s, i) => `  ${i + 1}. ${this.utils.printExpected(s)}${i < at.length ? ` = #${at[i]}` : ''}`,
    )
    .join('\n');
  const mark = (i: number) => {
    const step = at.indexOf(i);
    return step >= 0 ? `   <- step ${step + 1}` : '';
  };
  if (at.length === wanted.length) {
    return {
      pass: true,
      message: () =>
        `${hint(this, name, 'steps')}\n\nExpected the events not to contain, in order:\n${steps$}\n\n` +
        listing(events, mark),
    };
  }
  const failed = wanted[at.length]!;
  const earlier = events.findIndex((e) => matches(e, failed));
  const why =
    at.length === 0
      ? `Step 1 matches no event.`
      : `${at.length === 1 ? 'Step 1' : `Steps 1-${at.length}`} matched; step ${at.length + 1} matches no event after #${at[at.length - 1]}` +
        (earlier >= 0 ? ` (#${earlier} matches it, but comes too early: out of order?)` : '') +
        '.';
  return {
    pass: false,
    message: () =>
      `${hint(this, name, 'steps')}\n\nExpected the events to contain, in order:\n${steps$}\n\n${why}\n\n` +
      listing(events, mark) +
      nearestDiffs(this, events, failed, from),
  };
};

/**
 * `await expect(audit).toHaveNoSecrets(secrets?)`: no JWT, bearer or basic credential, no token the
 * kit minted and none of `secrets` (strings or patterns) in any event or any byte written.
 */
const toHaveNoSecrets: Matcher<[secrets?: Iterable<string | RegExp>]> = async function (
  received,
  secrets,
) {
  const name = 'toHaveNoSecrets';
  const captured: Captured | undefined = await capture(received, true);
  if (!captured) return notReadable(this, name, received);
  const findings = scan(captured, secrets);
  const bytes = captured.texts.reduce((n, t) => n + t.length, 0);
  const scanned = `Scanned ${captured.events.length} events and ${bytes} bytes written.`;
  if (findings.length === 0) {
    return {
      pass: true,
      message: () =>
        `${hint(this, name, 'secrets')}\n\nExpected a secret to be found, but none was.\n${scanned}`,
    };
  }
  return {
    pass: false,
    message: () =>
      `${hint(this, name, 'secrets')}\n\nExpected no secrets, found:\n` +
      findings
        .map((f) => `  ${f.what} in ${f.where}: ${this.utils.printReceived(f.sample)}`)
        .join('\n') +
      `\n${scanned}`,
  };
};

/**
 * The matchers, for `expect.extend(authtrailMatchers)` (the `@authtrail/jest/setup` entry does it).
 * They are asynchronous: they flush the auditor first, so `await` them.
 * @example
 * expect.extend(authtrailMatchers);
 * await expect(audit).toHaveAuditEvent('api.authn.failure', { reason: 'token_expired' });
 */
export const authtrailMatchers = {
  toHaveAuditEvent,
  toHaveAuditSequence,
  toHaveNoSecrets,
};
