import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_CLI,
  API_MAIN,
  ApiProcess,
  ApiSettings,
  ApiStart,
  stopAllProcesses,
} from './api-process';
import { createFaultDatabase, EmbeddedServer, FaultDatabase } from './postgres';

/** Every case sweeps every 2 s, so "a cycle" is 2 s. */
export const REFRESH_CRON = '*/2 * * * * *';
export const CYCLE_MS = 2_000;
export const SERVICE_KEY = 'faults-service-key-000000000001';
export const ADMIN_PASSWORD = 'faults-admin-password-0001';

/** What one test file runs against: the sandbox in-process, a database of its own, API processes. */
export interface Rig {
  tempRoot: string;
  sandbox: RunningSandbox;
  database: FaultDatabase;
  /** Set when the file asked for a server it can stop and start. */
  server: EmbeddedServer | undefined;
  fernetKey: string;
  settings(overrides?: Partial<ApiSettings>): ApiSettings;
  startApi(
    start: Omit<ApiStart, 'refreshCron'> & { refreshCron?: string },
    overrides?: Partial<ApiSettings>,
  ): Promise<ApiProcess>;
  /** Kills every process, closes every pool and server, deletes the temp folder; never throws. */
  close(): Promise<void>;
}

export async function startRig(
  options: { ownServer?: boolean } = {},
): Promise<Rig> {
  for (const built of [API_MAIN, API_CLI]) {
    if (!existsSync(built))
      throw new Error(
        `${built} is missing: run \`npx nx build api\` (npm run test:faults does).`,
      );
  }
  const tempRoot = await mkdtemp(join(tmpdir(), 'atk-faults-'));
  const started: ApiProcess[] = [];
  // Undone in reverse: the processes (registered last) stop first, while their database is up.
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await rm(tempRoot, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    const server = options.ownServer
      ? await EmbeddedServer.start(tempRoot)
      : undefined;
    if (server) closers.push(() => server.destroy());
    const database = await createFaultDatabase(tempRoot, { embedded: server });
    closers.push(() => database.close());
    const sandbox = await startLwaSandbox({ requestLogLimit: 100_000 });
    closers.push(() => sandbox.close());
    closers.push(() => stopAllProcesses());
    const fernetKey = Fernet.generateKey();
    const settings = (overrides: Partial<ApiSettings> = {}): ApiSettings => ({
      tempRoot,
      databaseUrl: database.url,
      sandbox: {
        url: sandbox.url,
        clientId: sandbox.clientId,
        clientSecret: sandbox.clientSecret,
      },
      fernetKeys: fernetKey,
      adminPassword: ADMIN_PASSWORD,
      serviceKey: SERVICE_KEY,
      ...overrides,
    });
    return {
      tempRoot,
      sandbox,
      database,
      server,
      fernetKey,
      settings,
      startApi: async (start, overrides) => {
        const api = await ApiProcess.start(settings(overrides), {
          refreshCron: REFRESH_CRON,
          ...start,
        });
        started.push(api);
        return api;
      },
      close: async () => {
        if (process.env.FAULTS_DEBUG) await dump(started, database);
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** One line of figures per case, for the README's Reliability table. */
export function report(
  caseName: string,
  figures: Record<string, unknown>,
): void {
  process.stdout.write(`\nFAULTS ${caseName}: ${JSON.stringify(figures)}\n`);
}

/** FAULTS_DEBUG=1: every process's last lines and every connection row, to see why a case failed. */
async function dump(
  apis: ApiProcess[],
  database: FaultDatabase,
): Promise<void> {
  for (const api of apis)
    process.stdout.write(
      `\n--- ${api.name} (pid ${api.pid})\n${api.child.output()}\n`,
    );
  const rows = await database
    .query(
      `SELECT label, status, lease_owner, lease_expires_at, last_refreshed_at, failure_count, last_error, next_attempt_at
       FROM connections ORDER BY label`,
    )
    .catch((error: unknown) => [String(error)]);
  process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
}
