import type { AuditEvent } from '../types.js';

/** Options of {@link prettyLine}. */
export interface PrettyOptions {
  /** ANSI colours (outcome, type, dimmed details). @default false */
  color?: boolean;
}

const OUTCOME_COLOR: Record<string, number> = { success: 32, failure: 31, detected: 33 };

/**
 * One event as one human-readable line, without its `\n`, for development:
 * `03:04:05.678Z failure  api.authn.failure  reason=token_expired user=alice client=web GET /items -> 401 3.2ms`;
 * a detection starts with its detector, count against threshold and severity
 * (`detector=brute_force count=10/10 severity=high`).
 * Every value from the event is escaped first (see {@link inert}), so a user id carrying ESC
 * sequences or a newline is printed as text and can neither move the cursor nor fake a line.
 * Not a log format: nothing parses it back and it carries no chain. Use `native`, `ecs` or `ocsf`
 * for anything a machine reads.
 * @example
 * prettyLine(event); // '03:04:05.678Z success  authn.login.success  user=alice client=web GET /callback -> 302 41.9ms'
 */
export function prettyLine(event: AuditEvent, options: PrettyOptions = {}): string {
  const paint = options.color
    ? (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m`
    : (_code: number, text: string) => text;
  const time = typeof event.time === 'string' ? event.time.slice(11) : '';
  const outcome = inert(event.outcome);
  const user = event.user?.id ?? event.user?.email ?? event.user?.name ?? event.user?.hash;
  const d = event.detection;
  const facts = [
    // A detection first: which detector, how far over its threshold, how urgent.
    ...(d ? [field('detector', d.detector), count(d), field('severity', d.severity)] : []),
    field('reason', event.reason),
    field('error', event.error?.code),
    field('user', user),
    field('client', event.client?.id),
  ];
  const http = event.http;
  if (http) {
    facts.push(`${inert(http.method)} ${inert(http.path)} -> ${inert(http.status)}`);
    if (typeof http.duration_ms === 'number') facts.push(`${http.duration_ms.toFixed(1)}ms`);
  }
  return [
    paint(2, inert(time)),
    paint(OUTCOME_COLOR[outcome] ?? 0, outcome.padEnd(8)),
    paint(1, inert(event.type)),
    ...facts.filter((fact) => fact !== ''),
  ].join(' ');
}

/** `count=12/10`: what the detector counted against its threshold. */
function count(d: NonNullable<AuditEvent['detection']>): string {
  return field('count', `${String(d.count)}/${String(d.threshold)}`);
}

/** `name=value`, the value escaped and quoted when it has spaces; '' when there is none. */
function field(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = inert(value);
  return `${name}=${text === '' || /[\s"=]/.test(text) ? `"${text}"` : text}`;
}

// C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides and isolates
// (a right-to-left override can make a terminal show "evil" as "live"), the backslash that starts
// our own escapes, and the double quote that delimits values.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\"]/g;

/**
 * A value as text that is safe to print on a terminal: every control or direction character
 * becomes a visible escape (`\x1b`, `\n`, `\u202e`), a backslash `\\` and a quote `\"`.
 */
export function inert(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.replace(UNSAFE, (char) => {
    if (char === '\\' || char === '"') return `\\${char}`;
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
