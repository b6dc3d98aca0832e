// How the store commands reach a store: `--store` or AUTHTRAIL_STORE names it (a postgres:// URL or an
// embedded store's directory; `./.authtrail` by default), the engine's package is loaded only here,
// on demand, so `authtrail verify` never loads pg nor PGlite.
import { existsSync } from 'node:fs';
import type * as ConsolePackage from '@authtrail/console';
import type * as StorePackage from '@authtrail/store';
import type { Store } from '@authtrail/store';
import { CommandError, UsageError, printable } from './terminal.js';

/** The options every store command takes. */
export const STORE_OPTIONS = {
  store: { type: 'string' },
  schema: { type: 'string' },
} as const;

/** The options of every command that reads the store: where, the time range, the output format. */
export const READ_OPTIONS = {
  ...STORE_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
} as const;

/**
 * A package the command needs, loaded now. The CLI depends on the store packages, but a pruned or
 * hand-made install may lack them: say which and how to add it rather than print a resolver trace.
 */
async function load<T>(name: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (
      (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
      String(e.message).includes(name)
    )
      throw new CommandError(
        `authtrail: this command needs ${name}, which is not installed: npm install ${name} (or run npx -p @authtrail/cli -p ${name} authtrail ...)`,
        2,
      );
    throw error;
  }
}

/** `@authtrail/store`: the query language and the Store interface's helpers. */
export function loadStore(): Promise<typeof StorePackage> {
  return load('@authtrail/store', () => import('@authtrail/store'));
}

/** `@authtrail/console`: the console's server (`authtrail console`). */
export function loadConsole(): Promise<typeof ConsolePackage> {
  return load('@authtrail/console', () => import('@authtrail/console'));
}

/** How a command opens the store. */
export interface OpenOptions {
  /**
   * The command writes (import, ingest): the schema is created or migrated if needed. Readers never
   * do, so a mistyped --schema is an error rather than a new empty store.
   * @default false
   */
  write?: boolean;
}

/** Where the embedded store is when neither `--store` nor AUTHTRAIL_STORE names one. */
const DEFAULT_DIRECTORY = '.authtrail';

/** The store named by `--store`, else AUTHTRAIL_STORE, else the embedded store in `./.authtrail`. */
export async function openStore(
  values: { store?: string; schema?: string },
  options: OpenOptions = {},
): Promise<Store> {
  const named = values.store ?? process.env.AUTHTRAIL_STORE;
  if (named === undefined || named === '') {
    if (values.schema === undefined && existsSync(DEFAULT_DIRECTORY))
      return openEmbedded(DEFAULT_DIRECTORY, options);
    throw new CommandError(
      `authtrail: no store: no ${DEFAULT_DIRECTORY} directory here: run the app (or the demo) that writes its embedded store here, or give --store <directory> or --store postgres://user@host:5432/database, or set AUTHTRAIL_STORE`,
      2,
    );
  }
  if (/^postgres(ql)?:\/\//i.test(named)) {
    const { postgresStore } = await load(
      '@authtrail/store-postgres',
      () => import('@authtrail/store-postgres'),
    );
    // A CLI call is short: one connection, and a quick answer when the server is not there.
    return postgresStore({
      connectionString: named,
      schema: values.schema ?? 'authtrail',
      max: 2,
      connectTimeoutMs: 5000,
      // A reader: never creates a schema because --schema was mistyped, nor needs the right to migrate.
      readOnly: options.write !== true,
    });
  }
  if (values.schema !== undefined)
    throw new UsageError('--schema names a PostgreSQL schema: give a postgres:// store with it');
  // Never echo a URL that is not postgres://: it may be a mistyped one with a password in it.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(named))
    throw new UsageError(
      '--store is a URL, but not postgres://: give postgres://user@host:5432/database, or the directory of an embedded store',
    );
  return openEmbedded(named, options);
}

/**
 * The embedded store in `directory`. A reader opens it read-only; either way it takes the
 * directory's lock, so a store an app holds is refused with an error naming that app.
 */
async function openEmbedded(directory: string, options: OpenOptions): Promise<Store> {
  const { embeddedStore } = await load(
    '@authtrail/store-embedded',
    () => import('@authtrail/store-embedded'),
  );
  return embeddedStore({ directory, readOnly: options.write !== true });
}

/** `--from` / `--to`: an ISO-8601 time, `now`, or a time before now such as `-24h`, `-7d`, `-30m`. */
export async function instant(
  option: string,
  text: string | undefined,
  now: number,
): Promise<Date | undefined> {
  if (text === undefined) return undefined;
  const date = (await loadStore()).parseTime(text, now);
  if (date === undefined)
    throw new UsageError(
      `--${option} ${printable(text.slice(0, 40))} is not a time: use ISO-8601 with a zone (2026-03-01T10:00:00Z), a date (2026-03-01), now, or -30m, -24h, -7d`,
    );
  return date;
}

/** A whole number option from `min` to `max`. */
export function whole(
  option: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max))
    throw new UsageError(
      `--${option} must be a whole number from ${min} to ${max} (received ${printable(text.slice(0, 20))})`,
    );
  return n;
}

/**
 * `--from -7d` as `--from=-7d`: parseArgs takes a value starting with `-` for an option of its own
 * and refuses it as ambiguous, yet `-7d` is how people write "seven days ago".
 */
export function relativeTimes(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if ((arg === '--from' || arg === '--to') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
