import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface TestDatabase {
  url: string;
  schema: string;
  /** A plain client on the same schema, for assertions on what was stored. */
  query<Row extends Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>;
  drop(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'TEST_DATABASE_URL is unset: run the tests through jest (global setup).',
    );
  return url;
}

/** A fresh schema per test file, so tests never meet rows of another file or an earlier run. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const client = new Client({
    connectionString: url,
    options: `-c search_path=${schema}`,
  });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  return {
    url,
    schema,
    query: async <Row extends Record<string, unknown>>(
      sql: string,
      params?: unknown[],
    ) => (await client.query<Row>(sql, params)).rows,
    drop: async () => {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}
