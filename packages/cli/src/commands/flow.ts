// authtrail flow <id>: everything around one event, login flow, token life, session, as timelines.
import { parseArgs } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import type { Trail } from '@authtrail/store';
import { READ_OPTIONS, instant, relativeTimes, openStore } from '../store.js';
import {
  CommandError,
  UsageError,
  cell,
  outcomeColour,
  paint,
  printable,
  printableJson,
  useColour,
} from '../terminal.js';

const SECTIONS = [
  ['flow', 'login flow', (e: AuditEvent) => e.flow?.id],
  [
    'token',
    'token',
    (e: AuditEvent) => e.oauth?.token?.fingerprint ?? e.oauth?.presented?.fingerprint,
  ],
  ['session', 'session', (e: AuditEvent) => e.session?.id],
] as const;

/** One line an event: offset from the section's first event, who saw it, what, and a marker on failures. */
function timeline(events: AuditEvent[], focus: string | undefined, colour: boolean): string {
  const start = Date.parse(events[0]!.time);
  const rows = events.map((e) => {
    const offset = `+${((Date.parse(e.time) - start) / 1000).toFixed(3)}s`;
    const who = `${cell(e.observer?.role, 3)}/${cell(e.observer?.service, 24)}`;
    const what = e.reason ? `${cell(e.outcome, 8)} ${cell(e.reason, 32)}` : cell(e.outcome, 8);
    const http = e.http
      ? `${cell(e.http.method, 7)} ${cell(e.http.route ?? e.http.path, 40)} ${cell(e.http.status, 6)}`
      : '';
    return { e, cells: [offset, who, cell(e.type, 40), what, http] };
  });
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r.cells[c]!.length)));
  return rows
    .map(({ e, cells }) => {
      const marker = e.outcome === 'failure' ? '✗' : e.outcome === 'detected' ? '!' : ' ';
      const line = `${e.id === focus ? '>' : ' '}${marker}  ${cells
        // The offset right-aligned (its decimal points line up), the rest left, the request last as it is.
        .map((c, i) => (i === 0 ? c.padStart(widths[0]!) : i < 4 ? c.padEnd(widths[i]!) : c))
        .join('  ')}`.trimEnd();
      return paint(line, outcomeColour(e.outcome), colour);
    })
    .join('\n');
}

/** `authtrail flow <event id | flow id | token fingerprint | session id> [--from] [--to] [--format text|json]`. */
export async function flow(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: relativeTimes(args),
    allowPositionals: true,
    options: {
      ...READ_OPTIONS,
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('flow: give one event id, flow id, token fingerprint or session id');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(
      `--format must be text or json (received ${printable(format.slice(0, 20))})`,
    );
  const id = positionals[0]!;
  const now = Date.now();
  const range = {
    from: await instant('from', values.from, now),
    to: await instant('to', values.to, now),
  };
  const store = await openStore(values);
  let trail: Trail;
  try {
    trail = await store.trail(id, range);
  } finally {
    await store.close();
  }
  if (format === 'json') {
    process.stdout.write(printableJson(trail) + '\n');
    return trail.flow.length + trail.token.length + trail.session.length > 0 || trail.event ? 0 : 1;
  }
  const colour = useColour();
  const out: string[] = [];
  if (trail.event) {
    const e = trail.event;
    out.push(
      `event ${cell(e.id, 40)}  ${cell(e.time, 24)}  ${cell(e.type, 40)} ${cell(e.outcome, 8)}${e.reason ? ` ${cell(e.reason, 32)}` : ''}`,
    );
  }
  for (const [name, title, keyOf] of SECTIONS) {
    const events = trail[name];
    if (events.length === 0) continue;
    const first = events[0]!;
    const failures = events.filter((e) => e.outcome === 'failure').length;
    out.push(
      '',
      paint(
        `${title} ${cell(keyOf(first), 48)}: ${events.length} event${events.length === 1 ? '' : 's'} from ${cell(first.time, 24)}` +
          (failures ? `, ${failures} failed` : ''),
        'bold',
        colour,
      ),
      timeline(events, trail.event?.id, colour),
    );
  }
  if (out.length === 0)
    throw new CommandError(
      `authtrail: no event, flow, token or session ${printable(id.slice(0, 80))} in the store${range.from || range.to ? ' in that time range' : ''}`,
      1,
    );
  process.stdout.write((out[0] === '' ? out.slice(1) : out).join('\n') + '\n');
  return 0;
}
