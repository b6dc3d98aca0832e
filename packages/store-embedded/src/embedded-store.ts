import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { AuthtrailError, checkOptions, shapeOf, takeLock } from '@authtrail/core/sink';
import type { Store } from '@authtrail/store';
import { postgresStore, type PostgresStoreOptions } from '@authtrail/store-postgres';
import { lockedError } from './locked-error.js';
import { pglitePool } from './pglite-pool.js';
import { syncFiles } from './sync-files.js';

/** Options of {@link embeddedStore}. */
export interface EmbeddedStoreOptions {
  /**
   * The store's directory, relative to the working directory: the database in `<directory>/pgdata`,
   * the single-writer lock in `<directory>/lock`. Created if absent (unless `readOnly`).
   * @default '.authtrail'
   */
  directory?: string;
  /**
   * For readers (the CLI): never create or migrate the store, and refuse writes. The directory is
   * locked all the same while open (PGlite writes to its files even to read): a store an app holds
   * cannot be opened, the error names that app.
   * @default false
   */
  readOnly?: boolean;
  /**
   * Writes are checkpointed and their files flushed to the disk at most this long after they were
   * made: what a power cut may lose. A killed process loses nothing either way.
   * @default 30000
   */
  checkpointIntervalMs?: number;
  /** ...or as soon as this many events were stored since the last checkpoint (bounds the WAL). @default 100000 */
  checkpointEvents?: number;
}

/**
 * The store for one machine, no server: PostgreSQL in WebAssembly (PGlite) in a directory, run by
 * the code of `@authtrail/store-postgres` (one SQL for both engines). One process holds the
 * directory at a time (a lock file); for several processes, use `@authtrail/store-postgres`.
 * Everything inserted survives the process being killed; a power cut may lose the last
 * `checkpointIntervalMs`.
 * @example
 * const store = embeddedStore(); // ./.authtrail
 * const auditor = createAuditor({ sinks: [storeSink(store)] });
 * const page = await store.query({ where: compileQuery('outcome:failure'), limit: 50 });
 */
export function embeddedStore(options: EmbeddedStoreOptions = {}): Store {
  const check = checkOptions('embeddedStore', options, '');
  const directory = check.o.directory ?? '.authtrail';
  if (typeof directory !== 'string' || directory === '' || directory.includes('\0'))
    check.issue('directory', shapeOf(directory), 'use a directory path, such as .authtrail');
  const readOnly = check.bool('readOnly', check.o.readOnly, false);
  const intervalMs = check.int(
    'checkpointIntervalMs',
    check.o.checkpointIntervalMs,
    30_000,
    100,
    3_600_000,
  );
  const everyEvents = check.int(
    'checkpointEvents',
    check.o.checkpointEvents,
    100_000,
    1,
    100_000_000,
  );
  check.known('', check.o, ['directory', 'readOnly', 'checkpointIntervalMs', 'checkpointEvents']);
  check.done();

  const root = resolve(directory as string);
  const data = join(root, 'pgdata');
  const lock = join(root, 'lock');
  if (readOnly && !existsSync(join(data, 'PG_VERSION')))
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_STORE_NOT_FOUND',
      `embeddedStore: no store in ${root}: nothing has written to it yet (an app with storeSink(embeddedStore()) creates it on its first batch), or the store is in another directory`,
    );
  // The lock is taken before PGlite touches a file: two processes on one data directory corrupt it.
  let release: () => void;
  try {
    if (!readOnly) mkdirSync(root, { recursive: true, mode: 0o700 });
    const attempt = takeLock(lock, { record: true });
    if (attempt.holder !== undefined) throw lockedError(root, lock, attempt.holder, readOnly);
    release = attempt.release;
  } catch (error) {
    if (error instanceof AuthtrailError) throw error;
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_STORE_FAILED',
      `embeddedStore: cannot lock ${lock} (${(error as NodeJS.ErrnoException).code ?? String(error)}): check that the directory is writable by this user`,
    );
  }

  // A process that exits without close() (process.exit()) is done with the files: its lock goes, so
  // that even a store on a volume a recreated container (another host name) mounts opens again.
  process.once('exit', release);

  const pool = pglitePool(() => PGlite.create(data));
  const inner = postgresStore({
    pool: pool as unknown as PostgresStoreOptions['pool'],
    // PGlite's adapter runs statements only: batches go as the INSERT statement, not COPY.
    copy: false,
    readOnly,
  });
  let closed = false;
  let written = 0;
  let timer: NodeJS.Timeout | undefined;
  let checkpointing: Promise<void> = Promise.resolve();

  /** The store's messages name the directory, not "PostgreSQL at the pool you passed". */
  function translate(error: unknown): never {
    if (error instanceof Error && error.message.startsWith('postgresStore:'))
      error.message = `embeddedStore:${error.message.slice('postgresStore:'.length)}`
        .replaceAll('PostgreSQL at the pool you passed', `the embedded store at ${root}`)
        .replaceAll('at the pool you passed', `at ${root}`);
    throw error;
  }

  /**
   * PGlite neither checkpoints (its WAL grows without end) nor flushes its files to the disk: both
   * are done here, after writes, on a timer or once enough events were stored.
   */
  function wrote(events: number): void {
    written += events;
    if (written >= everyEvents) void checkpoint().catch(() => {});
    else if (timer === undefined) {
      timer = setTimeout(() => void checkpoint().catch(() => {}), intervalMs);
      // A pending checkpoint never keeps the process alive: its writes are safe from a kill already.
      timer.unref();
    }
  }

  function checkpoint(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    written = 0;
    // One at a time; a failed one (a full disk) is tried again after the next write.
    const run = checkpointing.then(async () => {
      if (closed) return;
      await pool.exclusive((db) => db.query('CHECKPOINT'));
      await syncFiles(data);
    });
    checkpointing = run.catch(() => {});
    return run;
  }

  return {
    engine: 'embedded',
    async migrate() {
      const result = await inner.migrate().catch(translate);
      if (result.applied.length > 0) wrote(0);
      return result;
    },
    async insert(events) {
      const result = await inner.insert(events).catch(translate);
      if (result.inserted > 0) wrote(result.inserted);
      return result;
    },
    query: (o) => inner.query(o).catch(translate),
    count: (o) => inner.count(o).catch(translate),
    top: (o) => inner.top(o).catch(translate),
    trail: (id, range) => inner.trail(id, range).catch(translate),
    async retain(o) {
      try {
        const dropped = await inner.retain(o);
        if (dropped.length > 0) wrote(0);
        return dropped;
      } catch (error) {
        // What was dropped before the failure is gone all the same.
        wrote(0);
        return translate(error);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await inner.close();
      await checkpointing;
      try {
        await pool.end((db) => db.query('CHECKPOINT'));
        await syncFiles(data);
      } catch (error) {
        throw new AuthtrailError(
          'ERR_AUTHTRAIL_STORE_FAILED',
          `embeddedStore: closing the store at ${root} failed: ${(error as Error)?.message ?? String(error)}`,
        );
      } finally {
        process.removeListener('exit', release);
        release();
      }
    },
  };
}
