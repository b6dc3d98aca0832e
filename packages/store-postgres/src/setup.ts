import { AuthtrailError } from '@authtrail/core/sink';
import {
  LOCK_KEY,
  SCHEMA_VERSION,
  dayOf,
  dayPartitionSql,
  ident,
  migrations,
  type MigrationResult,
} from '@authtrail/store';
import type pg from 'pg';
import { storeError, type Target } from './errors.js';

/** What the schema's setup works on: the pool, the schema, how messages name the server, the days known to have a partition. */
export interface Setup {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly target: Target;
  readonly days: Set<number>;
}

const PARTITION_NAME = /^authtrail_events_(\d{4})(\d{2})(\d{2})$/;

/** Runs `work` in one transaction on one connection; any failure rolls back and is a typed error. */
async function transaction<T>(
  setup: Setup,
  doing: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await setup.pool.connect();
  } catch (error) {
    throw storeError(error, setup.target, doing);
  }
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw storeError(error, setup.target, doing);
  } finally {
    client.release();
  }
}

/**
 * Applies the migrations the schema lacks, in one transaction under an advisory lock a schema:
 * instances starting together wait there, and the first applies what is missing. Then reads
 * which day partitions exist, so the first inserts do not create them again.
 */
/**
 * For a store opened read-only: the schema's version, without creating or changing anything. A
 * reader (the CLI) must not create a schema because `--schema` was mistyped, nor need the rights
 * to migrate.
 */
export async function checkSchema(setup: Setup): Promise<MigrationResult> {
  const { schema, target } = setup;
  const s = ident(schema);
  const found = await setup.pool
    .query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${s}.authtrail_schema`])
    .catch((error: unknown) => {
      throw storeError(error, target, 'look for its schema');
    });
  if (found.rows[0]?.t == null)
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_STORE_NOT_FOUND',
      `postgresStore: no authtrail store in schema "${schema}" at ${target.shown}: nothing has written to it yet (storeSink creates it on its first batch), or the schema is another one (--schema / the schema option)`,
    );
  const { rows } = await setup.pool
    .query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${s}.authtrail_schema`)
    .catch((error: unknown) => {
      throw storeError(error, target, 'read its schema version');
    });
  const current = rows[0]!.v;
  if (current > SCHEMA_VERSION)
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_STORE_VERSION',
      `postgresStore: schema "${schema}" at ${target.shown} is at version ${current}, written by a newer authtrail; this one knows up to ${SCHEMA_VERSION}: upgrade @authtrail/store-postgres (it does not guess at a newer schema)`,
    );
  if (current < SCHEMA_VERSION)
    throw new AuthtrailError(
      'ERR_AUTHTRAIL_STORE_VERSION',
      `postgresStore: schema "${schema}" at ${target.shown} is at version ${current}, older than this authtrail's ${SCHEMA_VERSION}: let an app with storeSink (or store.migrate()) upgrade it first; a read-only store does not migrate`,
    );
  return { version: current, applied: [] };
}

export async function migrateSchema(setup: Setup): Promise<MigrationResult> {
  const { schema, target } = setup;
  const s = ident(schema);
  const result = await transaction(setup, 'migrate its schema', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_KEY, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.authtrail_schema (version int PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number }>(
      `SELECT coalesce(max(version), 0)::int AS v FROM ${s}.authtrail_schema`,
    );
    const current = rows[0]!.v;
    if (current > SCHEMA_VERSION)
      throw new AuthtrailError(
        'ERR_AUTHTRAIL_STORE_VERSION',
        `postgresStore: schema "${schema}" at ${target.shown} is at version ${current}, written by a newer authtrail; this one knows up to ${SCHEMA_VERSION}: upgrade @authtrail/store-postgres (it does not guess at a newer schema)`,
      );
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql(schema));
      await client.query(
        `INSERT INTO ${s}.authtrail_schema (version, description) VALUES ($1, $2)`,
        [m.version, m.description],
      );
      applied.push(m.version);
    }
    return { version: Math.max(current, ...applied), applied };
  });
  const parts = await setup.pool
    .query<{ name: string }>(
      'SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)',
      [`${s}.authtrail_events`],
    )
    .catch((error: unknown) => {
      throw storeError(error, target, 'list its day partitions');
    });
  for (const { name } of parts.rows) {
    const m = PARTITION_NAME.exec(name);
    if (m) setup.days.add(dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))));
  }
  return result;
}

/** Creates the partitions of `needed` days (UTC day numbers) that are missing, and remembers them. */
export async function createPartitions(setup: Setup, needed: readonly number[]): Promise<void> {
  await transaction(setup, 'create a day partition', async (client) => {
    // Two instances creating one day at once collide in the catalog even with IF NOT EXISTS, hence
    // a lock a day. All of them first, in day order, then the partitions: creating one holds the
    // whole table until commit, and a creator waiting for a day's lock while holding the table
    // deadlocked with the day's holder waiting for the table (two batches in flight, 40P01).
    for (const day of needed)
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_KEY + 1, day]);
    for (const day of needed) await client.query(dayPartitionSql(setup.schema, day));
  });
  for (const day of needed) setup.days.add(day);
}
