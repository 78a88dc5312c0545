import { ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { builtApiEnvironment, freePort } from '@keeper/test-support';

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

/** Every child this test file started; `stopAll()` in afterAll ends them even when a test failed. */
const children = new Set<ManagedProcess>();
// And should Jest itself go (Ctrl-C, a crash), none is left running behind it.
process.once('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
});

/** A child process with its output kept (the last lines), killable at any moment. */
export class ManagedProcess {
  readonly process: ChildProcess;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>;
  private readonly tail: string[] = [];
  private readonly lineListeners: ((line: string) => void)[] = [];
  private exitInfo:
    | { code: number | null; signal: NodeJS.Signals | null }
    | undefined;

  constructor(
    readonly name: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; keepLines?: number },
  ) {
    this.process = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this);
    const keep = options.keepLines ?? 200;
    const collect = (stream: NodeJS.ReadableStream | null) => {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          this.tail.push(line);
          if (this.tail.length > keep) this.tail.shift();
          for (const listener of this.lineListeners) listener(line);
        }
      });
    };
    collect(this.process.stdout);
    collect(this.process.stderr);
    this.exited = new Promise((done) => {
      this.process.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        children.delete(this);
        done(this.exitInfo);
      });
      this.process.once('error', (error) => {
        this.tail.push(`spawn failed: ${error.message}`);
        this.exitInfo = { code: -1, signal: null };
        children.delete(this);
        done(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  get exitStatus() {
    return this.exitInfo;
  }

  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  output(): string {
    return this.tail.join('\n');
  }

  /** SIGKILL: no shutdown hook runs, nothing is released. */
  async kill(): Promise<void> {
    if (this.exitInfo) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a graceful shutdown), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitInfo) return;
    this.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((done) => {
        timer = setTimeout(() => done(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) await this.kill();
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
