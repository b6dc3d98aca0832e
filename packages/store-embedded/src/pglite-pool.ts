import type { PGlite } from '@electric-sql/pglite';

/** The part of a `pg.Pool` the PostgreSQL store uses, and what its `query` gives back. */
export interface PoolResult {
  rows: unknown[];
  rowCount: number;
}

export interface PoolClient {
  query(text: string, values?: unknown[]): Promise<PoolResult>;
  release(): void;
}

/** A pool of one PGlite database, shaped like `pg.Pool`, plus the turn-taking the store's durability needs. */
export interface PglitePool {
  query(text: string, values?: unknown[]): Promise<PoolResult>;
  /** A client that holds the database until `release()`: its BEGIN..COMMIT is never interleaved. */
  connect(): Promise<PoolClient>;
  /** Runs `work` on the database when no query or client is using it. */
  exclusive<T>(work: (db: PGlite) => Promise<T>): Promise<T>;
  on(event: string, listener: (...args: unknown[]) => void): PglitePool;
  /** Closes the database after the turns already taken, running `last` first if it was opened. */
  end(last?: (db: PGlite) => Promise<unknown>): Promise<void>;
}

/**
 * The PostgreSQL store's code runs unchanged on PGlite through this: one database, one session,
 * so the calls take turns. A client keeps its turn from `connect()` to `release()`, so the
 * statements of its transaction run together and nothing else lands inside it. (PGlite's own
 * `runExclusive` holds the lock its `query()` takes, so a client cannot be built on it.) A holder
 * of a client must not call the pool before releasing it: that call waits for its turn forever.
 *
 * `open` is called once, at the first turn (a failure is retried at the next).
 */
export function pglitePool(open: () => Promise<PGlite>): PglitePool {
  let db: Promise<PGlite> | undefined;
  let turn: Promise<unknown> = Promise.resolve();
  let ended = false;

  function database(): Promise<PGlite> {
    // Never opened again once ended: the directory's lock is released then.
    if (ended) return Promise.reject(new Error('the embedded database is closed'));
    db ??= open().catch((error: unknown) => {
      db = undefined;
      throw error;
    });
    return db;
  }

  function exclusive<T>(work: (db: PGlite) => Promise<T>): Promise<T> {
    const mine = turn.then(async () => work(await database()));
    turn = mine.catch(() => {});
    return mine;
  }

  // As pg does: without values, the simple protocol, which runs a script (a migration); with
  // values, the extended one (PGlite's query), which takes one statement.
  const run = async (db: PGlite, text: string, values?: unknown[]): Promise<PoolResult> => {
    const r =
      values === undefined || values.length === 0
        ? (await db.exec(text)).at(-1)
        : await db.query(text, values);
    return { rows: (r?.rows ?? []) as unknown[], rowCount: r?.affectedRows ?? 0 };
  };

  const pool: PglitePool = {
    query: (text, values) => exclusive((db) => run(db, text, values)),
    connect: () =>
      new Promise<PoolClient>((resolve, reject) => {
        exclusive(
          (db) =>
            new Promise<void>((release) =>
              resolve({ query: (text, values) => run(db, text, values), release: () => release() }),
            ),
        ).catch(reject);
      }),
    exclusive,
    // PGlite has no connection to lose: nothing to report.
    on: () => pool,
    async end(last) {
      const opened = db;
      ended = true;
      if (opened === undefined) return;
      const closing = turn.then(async () => {
        const database = await opened;
        try {
          await last?.(database);
        } finally {
          await database.close();
        }
      });
      turn = closing.catch(() => {});
      await closing;
    },
  };
  return pool;
}
