// authtrail ingest [--follow] <file>: the lines a service's fileSink writes, into the store as they
// come, across rotations and restarts. Each event is stored once: inserts are idempotent (same id
// and time), and the position is saved after each committed batch, so a restart (even after a
// SIGKILL) reads again at most the batch that was in flight, whose events the store then skips.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '@authtrail/core';
import type { Store } from '@authtrail/store';
import { eventLine } from '../event-line.js';
import { followLines, type Position } from '../follow.js';
import { STORE_OPTIONS, openStore, whole } from '../store.js';
import { CommandError, UsageError, cell, printable } from '../terminal.js';

/** The state file: which log, into which store, and where reading got to. */
interface State {
  version: 1;
  file: string;
  /** A digest of the store (host, database, schema; never a password): a state is one store's. */
  store: string;
  position: Position;
}

/**
 * The state's default place: beside the log, hidden (`.audit.jsonl.ingest.json`), as fileSink keeps
 * its chain state there. It goes where the log goes, and `audit.jsonl*` never picks it up.
 */
export function defaultStatePath(file: string): string {
  return join(dirname(file), `.${basename(file)}.ingest.json`);
}

/** Which store a state belongs to: the URL without user and password, and the schema. */
function storeDigest(values: { store?: string; schema?: string }): string {
  // As openStore reads them: an empty AUTHTRAIL_STORE is none, and none is the embedded ./.authtrail.
  const named = values.store || process.env.AUTHTRAIL_STORE || '.authtrail';
  let where: string;
  try {
    const url = new URL(named);
    url.username = '';
    url.password = '';
    where = url.href;
  } catch {
    // A directory (the embedded store): its path.
    where = resolve(named);
  }
  return createHash('sha256')
    .update(`${where}#${values.schema ?? 'authtrail'}`)
    .digest('hex')
    .slice(0, 16);
}

async function readState(path: string, file: string, store: string): Promise<Position | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let state: State;
  try {
    state = JSON.parse(text) as State;
  } catch {
    throw new CommandError(
      `authtrail ingest: ${printable(path)} is not a state file (not JSON); remove it to start again from the log's start`,
      2,
    );
  }
  if (state.version !== 1 || typeof state.position?.offset !== 'number')
    throw new CommandError(
      `authtrail ingest: ${printable(path)} is not a state file of this version; remove it to start again from the log's start`,
      2,
    );
  if (state.file !== file || state.store !== store)
    throw new CommandError(
      `authtrail ingest: ${printable(path)} is the state of ${state.file !== file ? `another log (${printable(state.file)})` : 'another store'}; ` +
        'give --state <file> to keep one state for each log and store',
      2,
    );
  return state.position;
}

/** Written whole to a temporary file, then renamed over the old one: a crash leaves the old or the new state, never half of one. */
async function writeState(path: string, state: State): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state) + '\n');
  await rename(temporary, path);
}

/** Inserts, retrying while the store is unreachable (a follower outlives a database restart). */
async function insert(
  store: Store,
  events: AuditEvent[],
  signal: AbortSignal,
  say: (t: string) => void,
) {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
    try {
      return await store.insert(events);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (e.code !== 'ERR_AUTHTRAIL_STORE_UNAVAILABLE' || signal.aborted) throw error;
      say(
        `${printable(String(e.message).replace(/^authtrail: /, ''))}; trying again in ${wait / 1000} s`,
      );
      await new Promise((done) => setTimeout(done, wait));
    }
  }
}

/** `authtrail ingest [--follow] <file> [--state <file>] [--batch 1000] [--store] [--schema]`. */
export async function ingest(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...STORE_OPTIONS,
      follow: { type: 'boolean', short: 'f' },
      state: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('ingest: give one file, the live log a fileSink writes (audit.jsonl)');
  const file = resolve(positionals[0]!);
  const size = whole('batch', values.batch, 1000, 1, 10_000);
  const statePath = resolve(values.state ?? defaultStatePath(file));
  const digest = storeDigest(values);
  const saved = await readState(statePath, file, digest);
  const say = (text: string) => process.stderr.write(`authtrail ingest: ${text}\n`);

  const store = await openStore(values, { write: true });
  // SIGINT / SIGTERM: the batch in flight is committed and its position saved, then the command ends.
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const totals = { events: 0, inserted: 0, duplicates: 0, rejected: 0 };
  let batch: AuditEvent[] = [];
  let position: Position | undefined;
  let savedPosition = saved;
  const commit = async () => {
    if (batch.length > 0) {
      const result = await insert(store, batch, controller.signal, say);
      totals.inserted += result.inserted;
      totals.duplicates += result.duplicates;
      batch = [];
    }
    if (position && position !== savedPosition) {
      await writeState(statePath, { version: 1, file, store: digest, position });
      savedPosition = position;
    }
  };
  try {
    say(
      saved
        ? `${values.follow ? 'following' : 'reading'} ${printable(file)} from where it stopped (line ${saved.line} of the file then read)`
        : `${values.follow ? 'following' : 'reading'} ${printable(file)} from the oldest of its rotated files present`,
    );
    for await (const chunk of followLines(file, {
      from: saved ?? 'oldest',
      follow: values.follow === true,
      signal: controller.signal,
      lost: 'oldest',
      notice: say,
    })) {
      for (const { text, line } of chunk.lines) {
        const parsed = eventLine(text);
        if (parsed === undefined) continue;
        if (parsed.problem !== undefined) {
          totals.rejected++;
          say(`${printable(chunk.file)}:${line}: ${parsed.problem}, not stored: ${cell(text, 60)}`);
          continue;
        }
        totals.events++;
        batch.push(parsed.event);
      }
      position = chunk.position;
      if (batch.length >= size || chunk.idle) await commit();
      // A backlog is long: a stop is honoured between chunks, not only at the log's end.
      if (controller.signal.aborted) break;
    }
    await commit();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await store.close();
  }
  say(
    `${totals.events} events: ${totals.inserted} inserted, ${totals.duplicates} already stored, ${totals.rejected} rejected`,
  );
  return totals.rejected === 0 ? 0 : 1;
}
