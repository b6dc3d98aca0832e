// authtrail tail [-f] ['<q>']: the last events matching a query, then (-f) each new one as it comes,
// from a log file (the query evaluated in memory, as the store would answer it) or from the store
// (polled every second, oldest first, by keyset paging).
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import type { EventPredicate } from '@authtrail/store';
import { eventLine } from '../event-line.js';
import { followLines } from '../follow.js';
import { readLines } from '../lines.js';
import { compile, predicate } from '../query-text.js';
import { STORE_OPTIONS, loadStore, openStore, whole } from '../store.js';
import { CSV_HEADER, HEADER, csvOf, formatOf, tableRow } from './query.js';
import { UsageError, csvRow, outcomeColour, paint, printableJson, useColour } from '../terminal.js';

const POLL_MS = 1000;
const PAGE = 1000;
const NO_ID = '00000000-0000-0000-0000-000000000000';

type Print = (events: readonly AuditEvent[]) => void;

/**
 * Prints events as `authtrail query` does, a batch at a time: ndjson, csv (one header), or a table
 * whose columns widen as wider values come (a stream cannot be measured before it is printed).
 */
function printer(format: string): Print {
  const out = process.stdout;
  if (format === 'ndjson')
    return (events) => {
      for (const e of events) out.write(printableJson(e, 0) + '\n');
    };
  let headed = false;
  if (format === 'csv')
    return (events) => {
      if (!headed) out.write(csvRow(CSV_HEADER));
      headed = true;
      out.write(events.map((e) => csvRow(csvOf(e))).join(''));
    };
  const colour = useColour();
  const widths = HEADER.map((h) => h.length);
  const line = (cells: readonly string[]) =>
    cells
      .map((text, c) => (c === cells.length - 1 ? text : text.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return (events) => {
    if (events.length === 0) return;
    const rows = events.map(tableRow);
    for (const row of rows)
      row.forEach((cell, c) => (widths[c] = Math.max(widths[c]!, cell.length)));
    if (!headed) out.write(paint(line(HEADER), 'bold', colour) + '\n');
    headed = true;
    out.write(
      rows.map((row, i) => paint(line(row), outcomeColour(events[i]!.outcome), colour)).join('\n') +
        '\n',
    );
  };
}

/** Keeps the last `n` events added; `take` gives them, oldest first. */
function lastOf(n: number) {
  const kept: AuditEvent[] = [];
  return {
    add(event: AuditEvent) {
      if (n === 0) return;
      kept.push(event);
      // Trimmed in steps, not one shift an event: a long file keeps only the last n.
      if (kept.length >= 2 * n) kept.splice(0, kept.length - n);
    },
    take: () => kept.splice(0).slice(-n),
  };
}

async function tailFile(
  file: string,
  match: EventPredicate,
  n: number,
  follow: boolean,
  print: Print,
): Promise<void> {
  const last = lastOf(n);
  const take = (text: string) => {
    const parsed = eventLine(text);
    return parsed?.event !== undefined && match(parsed.event) ? parsed.event : undefined;
  };
  if (!follow) {
    // Any file, gzip-compressed ones too, read to its end.
    for await (const lines of readLines(file))
      for (const { text } of lines) {
        const event = take(text);
        if (event) last.add(event);
      }
    print(last.take());
    return;
  }
  let caughtUp = false;
  for await (const chunk of followLines(file, {
    from: 'start',
    follow: true,
    lost: 'live',
    notice: (text) => process.stderr.write(`authtrail tail: ${text}\n`),
  })) {
    const events: AuditEvent[] = [];
    for (const { text } of chunk.lines) {
      const event = take(text);
      if (event && caughtUp) events.push(event);
      else if (event) last.add(event);
    }
    if (caughtUp) print(events);
    else if (chunk.idle) {
      caughtUp = true;
      print(last.take());
    }
  }
}

async function tailStore(
  values: { store?: string; schema?: string },
  text: string,
  n: number,
  follow: boolean,
  print: Print,
): Promise<void> {
  const { encodeCursor } = await loadStore();
  const where = await compile(text);
  const store = await openStore(values);
  try {
    const newest = await store.query({ where, order: 'desc', limit: Math.max(n, 1) });
    print(newest.events.slice(0, n).reverse());
    if (!follow) return;
    // From the newest matching event on; with none, from now.
    const start = newest.events[0];
    let after = encodeCursor(start ?? { time: new Date(), id: NO_ID });
    for (;;) {
      const page = await store.query({ where, order: 'asc', after, limit: PAGE });
      print(page.events);
      const last = page.events.at(-1);
      if (last) after = encodeCursor(last);
      if (page.events.length < PAGE) await sleep(POLL_MS);
    }
  } finally {
    await store.close();
  }
}

/** `authtrail tail [-f] ['<q>'] [--file <path>] [-n 10] [--format table|ndjson|csv] [--store] [--schema]`. */
export async function tail(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...STORE_OPTIONS,
      format: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      file: { type: 'string' },
      lines: { type: 'string', short: 'n' },
    },
  });
  if (positionals.length > 1)
    throw new UsageError(
      "tail: give the query as one argument, in quotes: authtrail tail -f 'outcome:failure'",
    );
  const text = positionals[0] ?? '';
  const n = whole('lines', values.lines, 10, 0, 10_000);
  const print = printer(formatOf(values.format, ['table', 'ndjson', 'csv']));
  if (values.file !== undefined) {
    if (values.store !== undefined || values.schema !== undefined)
      throw new UsageError('tail: give --file <path> or --store <url>, not both');
    const match = await predicate(text);
    await tailFile(values.file, match, n, values.follow === true, print);
  } else await tailStore(values, text, n, values.follow === true, print);
  return 0;
}
