// authtrail query '<q>': a page of events from the store, as a table on a terminal and as ndjson,
// json or csv for a program.
import { parseArgs } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import { compile } from '../query-text.js';
import { READ_OPTIONS, instant, relativeTimes, openStore, whole } from '../store.js';
import {
  UsageError,
  cell,
  csvRow,
  outcomeColour,
  printable,
  printableJson,
  table,
  useColour,
} from '../terminal.js';

const FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/** `--format`, else a table on a terminal and ndjson when piped. */
export function formatOf(given: string | undefined, allowed: readonly string[] = FORMATS): Format {
  if (given === undefined) return process.stdout.isTTY ? 'table' : 'ndjson';
  if (!allowed.includes(given))
    throw new UsageError(
      `--format must be one of ${allowed.join(', ')} (received ${printable(given.slice(0, 20))})`,
    );
  return given as Format;
}

export const HEADER = [
  'time',
  'type',
  'outcome',
  'reason',
  'user',
  'client',
  'ip',
  'route/status',
  'flow',
];

/** The user as the trail knows it: the id, or the pseudonym's hash. */
const userOf = (e: AuditEvent) => e.user?.id ?? e.user?.hash;

export function tableRow(e: AuditEvent): string[] {
  const http = e.http;
  return [
    cell(e.time, 24),
    cell(e.type, 36),
    cell(e.outcome, 8),
    cell(e.reason, 24),
    cell(userOf(e), 24),
    cell(e.client?.id, 20),
    cell(e.source?.ip, 39),
    http ? `${cell(http.route ?? http.path, 28)} ${cell(http.status, 6)}` : '',
    cell(e.flow?.id?.slice(0, 8), 8),
  ];
}

export const CSV_HEADER = [
  'time',
  'id',
  'type',
  'outcome',
  'reason',
  'user',
  'client',
  'ip',
  'route',
  'status',
  'flow',
  'service',
  'instance',
];

export function csvOf(e: AuditEvent): (string | number | undefined)[] {
  return [
    e.time,
    e.id,
    e.type,
    e.outcome,
    e.reason,
    userOf(e),
    e.client?.id,
    e.source?.ip,
    e.http?.route ?? e.http?.path,
    e.http?.status,
    e.flow?.id,
    e.observer?.service,
    e.observer?.instance,
  ];
}

/** `authtrail query '<q>' [--from] [--to] [--limit] [--after] [--order] [--format]`. */
export async function query(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: relativeTimes(args),
    allowPositionals: true,
    options: {
      ...READ_OPTIONS,
      limit: { type: 'string' },
      after: { type: 'string' },
      order: { type: 'string' },
    },
  });
  if (positionals.length > 1)
    throw new UsageError(
      "query: give the query as one argument, in quotes: authtrail query 'outcome:failure user:alice'",
    );
  const text = positionals[0] ?? '';
  const now = Date.now();
  const from = await instant('from', values.from, now);
  const to = await instant('to', values.to, now);
  const limit = whole('limit', values.limit, 50, 1, 10_000);
  const order = values.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw new UsageError(`--order must be asc or desc (received ${printable(order.slice(0, 20))})`);
  const format = formatOf(values.format);
  // The query is checked before the store is opened: a typo is answered without a connection.
  const where = await compile(text);
  const store = await openStore(values);
  try {
    const page = await store.query({ from, to, where, limit, order, after: values.after });
    write(format, page.events);
    if (page.next !== undefined) {
      const hint = `next page: --after ${page.next}\n`;
      // A program reading stdout gets events only; the cursor goes beside them.
      if (format === 'table') process.stdout.write(hint);
      else process.stderr.write(hint);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function write(format: Format, events: AuditEvent[]): void {
  const out = process.stdout;
  if (format === 'ndjson') {
    for (const e of events) out.write(printableJson(e, 0) + '\n');
  } else if (format === 'json') {
    out.write(printableJson(events) + '\n');
  } else if (format === 'csv') {
    out.write(csvRow(CSV_HEADER) + events.map((e) => csvRow(csvOf(e))).join(''));
  } else if (events.length === 0) {
    out.write('no events\n');
  } else {
    const colour = useColour();
    out.write(
      table(HEADER, events.map(tableRow), {
        colour,
        rowColour: (i) => outcomeColour(events[i]!.outcome),
      }),
    );
  }
}
