import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';

declare global {
  var embeddedTestDatabase: { stop(): Promise<void> } | undefined;
}

/**
 * Integration tests need PostgreSQL: the server in DATABASE_URL when it is set (CI), otherwise
 * a throw-away embedded one. Workers read TEST_DATABASE_URL; each test file makes its own schema.
 */
export default async function globalSetup(): Promise<void> {
  process.env.TZ = 'UTC';
  let url = process.env.DATABASE_URL;
  if (!url) {
    const parent = await mkdtemp(join(tmpdir(), 'atk-test-db-'));
    // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
    await chmod(parent, 0o755);
    const clusterDir = join(parent, 'postgres');
    const database = await startEmbeddedPostgres({
      clusterDir,
      ephemeral: true,
    });
    globalThis.embeddedTestDatabase = database;
    url = database.url;
  }
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `The test database at DATABASE_URL is not reachable: ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  process.env.TEST_DATABASE_URL = url;
}
