// Each test file works in a schema of its own on the machine's PostgreSQL (127.0.0.1:5432, trust
// auth, database `test`) and drops it afterwards, so files run side by side and leave nothing.
import { randomBytes } from 'node:crypto';
import type { Store } from '@authtrail/store';
import { postgresStore } from '@authtrail/store-postgres';
import pg from 'pg';

/** The machine's server; AUTHTRAIL_TEST_PG overrides it. */
export const PG_URL = process.env.AUTHTRAIL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh schema name, and a pool to look at the tables directly. */
export function testSchema(prefix: string): {
  schema: string;
  admin: pg.Pool;
  drop(): Promise<void>;
} {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  return {
    schema,
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

/**
 * {@link testSchema} with the stores a test file opens on it (`open(schema?)`, its own schema by
 * default; `stores` for stores made otherwise), all closed and the schema dropped after the file.
 */
export function testStores(prefix: string): ReturnType<typeof testSchema> & {
  stores: Store[];
  open(schema?: string): Store;
} {
  const db = testSchema(prefix);
  const stores: Store[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
    await db.drop();
  });
  return {
    ...db,
    stores,
    open(schema = db.schema) {
      const store = postgresStore({ connectionString: PG_URL, schema });
      stores.push(store);
      return store;
    },
  };
}
