// Each test file works in a schema of its own on the machine's PostgreSQL (127.0.0.1:5432, trust
// auth, database `test`) and drops it afterwards, so files run side by side and leave nothing.
import { randomBytes } from 'node:crypto';
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
