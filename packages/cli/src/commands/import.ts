// authtrail import <files...>: audit log files (JSON lines, rotated, gzip) into the store, in
// idempotent batches, the hash chain verified on the way when a key is given.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AuditEvent, ChainReport, ChainVerifier } from '@authtrail/core';
import type { InsertResult, Store } from '@authtrail/store';
import {
  CHAIN_OPTIONS,
  chainKeyGiven,
  chainReport,
  chainVerifier,
  describeChain,
} from '../chain.js';
import { eventLine } from '../event-line.js';
import { readLines, type ReadProgress } from '../lines.js';
import { progressBar } from '../progress.js';
import { STORE_OPTIONS, openStore, whole } from '../store.js';
import { CommandError, UsageError, cell, printable, printableJson } from '../terminal.js';

// Rejected lines shown one by one; past this, a count (a file of something else is all rejects).
const SHOWN = 20;

/** A line that is not an event: where, and why. */
export interface Rejected {
  file: string;
  line: number;
  problem: string;
}

/** What an import did. */
export interface ImportSummary {
  files: number;
  events: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** The first rejected lines (up to 100), with file and line. */
  rejects: Rejected[];
  /** Files that could not be read to their end (a corrupt gzip file): what they held before went in. */
  unreadable: { file: string; message: string }[];
  seconds: number;
  chain: ChainReport | undefined;
}

/**
 * Stores events in batches, one insert in flight while the next batch is read. A failed insert
 * stops the import: its error is thrown by the next `add` or by `finish`.
 */
export function batchWriter(store: Store, size: number) {
  let batch: AuditEvent[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let failure: unknown;
  const totals: InsertResult = { inserted: 0, duplicates: 0 };
  const send = async () => {
    await inFlight;
    if (failure !== undefined) throw failure;
    const events = batch;
    batch = [];
    // Caught here and rethrown at the next call: an unawaited rejection would end the process.
    inFlight = store.insert(events).then(
      (r) => {
        totals.inserted += r.inserted;
        totals.duplicates += r.duplicates;
      },
      (error: unknown) => {
        failure = error;
      },
    );
  };
  return {
    totals,
    async add(event: AuditEvent): Promise<void> {
      batch.push(event);
      if (batch.length >= size) await send();
    },
    /** Sends what is left and waits until every batch is committed. */
    async finish(): Promise<InsertResult> {
      if (batch.length > 0) await send();
      await inFlight;
      if (failure !== undefined) throw failure;
      return totals;
    },
  };
}

/** `authtrail import <files...> [--key-file ...] [--store] [--schema] [--batch 2000] [--json]`. */
export async function importFiles(args: string[]): Promise<number> {
  const { values, positionals: files } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...STORE_OPTIONS,
      ...CHAIN_OPTIONS,
      batch: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (files.length === 0)
    throw new UsageError(
      'import: give the files to import, oldest first (audit.jsonl.2 audit.jsonl.1 audit.jsonl)',
    );
  const size = whole('batch', values.batch, 2000, 1, 10_000);
  const verifier: ChainVerifier | undefined = chainKeyGiven(values)
    ? chainVerifier(values)
    : undefined;
  // Every file is there before anything is stored: a mistyped name is a usage error, not half an import.
  let total = 0;
  for (const file of files) total += (await stat(file)).size;

  const store = await openStore(values, { write: true });
  const summary: ImportSummary = {
    files: files.length,
    events: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    rejects: [],
    unreadable: [],
    seconds: 0,
    chain: undefined,
  };
  const read: ReadProgress = { bytes: 0 };
  const state = {
    get bytes() {
      return read.bytes;
    },
    get events() {
      return summary.events;
    },
  };
  const bar = progressBar(state, total);
  const say = (text: string) => {
    bar.clear();
    process.stderr.write(`authtrail import: ${text}\n`);
  };
  const started = performance.now();
  const writer = batchWriter(store, size);
  try {
    for (const file of files) {
      try {
        for await (const lines of readLines(file, read)) {
          for (const { text, line, partial } of lines) {
            verifier?.add(text, file, line, partial);
            const parsed = eventLine(text);
            if (parsed === undefined) continue;
            if (parsed.problem !== undefined) {
              summary.rejected++;
              if (summary.rejects.length < 100)
                summary.rejects.push({ file, line, problem: parsed.problem });
              // The line itself only escaped and cut short: it may be anything, built to fool a terminal.
              if (summary.rejected <= SHOWN && !values.json)
                say(
                  `${printable(file)}:${line}: ${parsed.problem}, not imported: ${cell(text, 60)}`,
                );
              continue;
            }
            summary.events++;
            await writer.add(parsed.event);
          }
          bar.tick();
        }
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        // A store failure stops the import; a file that cannot be read to its end (a cut gzip
        // file) is reported, and the next one goes on.
        if (typeof e.code === 'string' && e.code.startsWith('ERR_AUTHTRAIL')) throw error;
        const message = printable(String(e.message));
        summary.unreadable.push({ file, message });
        if (!values.json) say(`${printable(file)}: not read to its end: ${message}`);
      }
    }
    Object.assign(summary, await writer.finish());
  } catch (error) {
    bar.clear();
    const e = error as { code?: string; message?: string };
    if (!(typeof e.code === 'string' && e.code.startsWith('ERR_AUTHTRAIL_STORE'))) throw error;
    throw new CommandError(
      `authtrail import: stopped, the store failed after ${writer.totals.inserted + writer.totals.duplicates} events were stored: ` +
        `${printable(String(e.message).replace(/^authtrail: /, ''))}\n` +
        'Run the same import again once the store is back: events already stored are skipped, not stored twice.',
      1,
    );
  } finally {
    await store.close();
  }
  bar.clear();
  summary.seconds = (performance.now() - started) / 1000;
  if (summary.rejected > SHOWN && !values.json)
    say(`${summary.rejected - SHOWN} more lines not imported, not shown`);
  if (verifier) {
    for (const file of values.anchors ?? [])
      for await (const lines of readLines(file))
        for (const { text, line, partial } of lines) verifier.addAnchor(text, file, line, partial);
    summary.chain = chainReport(verifier, files);
  }
  process.stdout.write((values.json ? printableJson(summary) : describe(summary, files)) + '\n');
  const ok =
    summary.rejected === 0 && summary.unreadable.length === 0 && summary.chain?.ok !== false;
  return ok ? 0 : 1;
}

const n = (value: number) => value.toLocaleString('en-US');

function describe(s: ImportSummary, files: string[]): string {
  const rate = s.seconds > 0 ? Math.round(s.events / s.seconds) : 0;
  const lines = [
    `authtrail import: ${n(s.events)} events from ${s.files} file${s.files === 1 ? '' : 's'} in ` +
      `${s.seconds.toFixed(1)} s (${n(rate)} events/s): ${n(s.inserted)} inserted, ` +
      `${n(s.duplicates)} already stored, ${n(s.rejected)} rejected` +
      (s.unreadable.length > 0 ? `, ${s.unreadable.length} file(s) not read to the end` : ''),
  ];
  if (s.chain) lines.push(describeChain(s.chain, files, 'authtrail import: hash chain'));
  return lines.join('\n');
}
