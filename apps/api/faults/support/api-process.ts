import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  builtApiEnvironment,
  freePort,
  ManagedChild,
} from '@keeper/test-support';

/** The built API and CLI (`nx build api`); the `test-faults` target builds them first. */
export const WORKSPACE_ROOT = resolve(__dirname, '../../../..');
export const API_MAIN = join(WORKSPACE_ROOT, 'dist/apps/api/main.js');
export const API_CLI = join(WORKSPACE_ROOT, 'dist/apps/api/cli.js');

export const sleep = (ms: number) =>
  new Promise<void>((done) => setTimeout(done, ms));

/** Thrown by a probe to end a wait at once (other errors are retried until the timeout). */
export class StopWaiting extends Error {}

/** Polls `probe` every `everyMs` until it answers something other than undefined/false. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 100,
  /** What the state was, for the timeout's message. */
  explain?: () => Promise<unknown>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const state = explain
        ? await explain().catch(
            (error: unknown) => `(explain failed: ${String(error)})`,
          )
        : undefined;
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}` +
          (state === undefined
            ? ''
            : `\nState: ${JSON.stringify(state, null, 1)}`),
      );
    }
    await sleep(everyMs);
  }
}

/** Every child this test file started; `stopAllProcesses()` in afterAll ends them even when a test failed. */
const children = new Set<ManagedProcess>();
// And should Jest itself go (Ctrl-C, a crash), none is left running behind it.
process.once('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
});

/** `node <args>`, its output kept (the last lines), killable at any moment. */
export class ManagedProcess extends ManagedChild {
  constructor(
    name: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; keepLines?: number },
  ) {
    super(name, process.execPath, args, options);
    children.add(this);
    void this.exited.then(() => children.delete(this));
  }
}

/** Ends every child still running (afterAll, whatever happened). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(5_000)));
}

export interface ApiSettings {
  tempRoot: string;
  databaseUrl: string;
  sandbox: { url: string; clientId: string; clientSecret: string };
  fernetKeys: string;
  adminPassword: string;
  serviceKey: string;
}

export interface ApiStart {
  name: string;
  refreshCron: string;
  /** Point the token endpoint somewhere else than the sandbox (a switch in front of it). */
  tokenUrl?: string;
  env?: Record<string, string>;
  /** Wait for /health/ready 200 too (default: /health/live only). */
  waitReady?: boolean;
}

/** `node dist/apps/api/main.js` with a working folder of its own, configured by environment only. */
export class ApiProcess {
  private constructor(
    readonly name: string,
    readonly child: ManagedProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The `lease_owner` prefix this process writes (`<host>:<pid>:<random>`). */
  get leaseOwnerPattern(): string {
    return `%:${this.pid}:%`;
  }

  static environment(
    settings: ApiSettings,
    start: ApiStart,
    port: number,
    cwd: string,
  ): NodeJS.ProcessEnv {
    return builtApiEnvironment(
      { ...settings, port, cwd, refreshCron: start.refreshCron },
      {
        ...(start.tokenUrl ? { AMAZON_TOKEN_URL: start.tokenUrl } : {}),
        ...start.env,
      },
    );
  }

  static async start(
    settings: ApiSettings,
    start: ApiStart,
  ): Promise<ApiProcess> {
    const port = await freePort();
    const cwd = join(settings.tempRoot, `api-${start.name}`);
    await mkdir(cwd, { recursive: true });
    const child = new ManagedProcess(`api ${start.name}`, [API_MAIN], {
      cwd,
      env: ApiProcess.environment(settings, start, port, cwd),
    });
    const api = new ApiProcess(start.name, child, port);
    const path = start.waitReady ? '/health/ready' : '/health/live';
    try {
      await waitFor(
        `${start.name} to answer ${path}`,
        async () => {
          if (child.hasExited) throw new ExitedError(child);
          return (await api.status(path)) === 200;
        },
        60_000,
        100,
      );
    } catch (error) {
      await child.stop(2_000);
      throw new Error(
        `The API (${start.name}) did not start: ${(error as Error).message}\n${child.output()}`,
      );
    }
    return api;
  }

  /** The HTTP status of a GET, or 0 when nothing answered. */
  async status(path: string, timeoutMs = 2_000): Promise<number> {
    try {
      const response = await fetch(`${this.url}${path}`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 0;
    }
  }

  async json<T>(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  kill(): Promise<void> {
    return this.child.kill();
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

class ExitedError extends StopWaiting {
  constructor(child: ManagedProcess) {
    super(`the process exited (${JSON.stringify(child.exitStatus)})`);
  }
}

/** `node dist/apps/api/cli.js <args>` with the same environment an API process gets. */
export async function startCli(
  settings: ApiSettings,
  name: string,
  args: string[],
): Promise<ManagedProcess> {
  const cwd = join(settings.tempRoot, `cli-${name}`);
  await mkdir(cwd, { recursive: true });
  const env = ApiProcess.environment(
    settings,
    { name, refreshCron: '0 0 0 1 1 *' },
    3000,
    cwd,
  );
  return new ManagedProcess(`cli ${name}`, [API_CLI, ...args], { cwd, env });
}
