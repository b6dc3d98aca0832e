// Each test file works in a schema of its own on the machine's PostgreSQL (127.0.0.1:5432, trust
// auth, database `test`) and drops it afterwards, so files run side by side and leave nothing.
import { randomBytes } from 'node:crypto';
import { createAuditor, memorySink, type AuditEvent, type ManualEvent } from '@authtrail/core';
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

/** Events made by a real auditor, one every `stepMs` from `start` (so across days when there are many). */
export async function auditorEvents(
  specs: ManualEvent[],
  start: number,
  stepMs = 60_000,
): Promise<AuditEvent[]> {
  let t = start - stepMs;
  const sink = memorySink();
  const auditor = createAuditor({
    sinks: [sink],
    keys: { fingerprint: 'store-test-fingerprint-key-0123456789' },
    clock: () => (t += stepMs),
  });
  for (const spec of specs) auditor.record(spec);
  await auditor.close();
  return sink.events.filter((e) => !e.type.startsWith('audit.'));
}
