import { ChildProcess, spawn } from 'node:child_process';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How many of the last output lines to keep for {@link ManagedChild.output}. */
  keepLines?: number;
}

/**
 * A child process (the built API, a CLI run, a bench child) whose last output lines are kept
 * for error reports, killable at any moment or stopped gracefully. The fault suite and the
 * bench each track their children their own way (a registry, the bench's cleanups): they
 * extend this.
 */
export class ManagedChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private readonly tail: string[] = [];
  private readonly stdoutListeners: ((line: string) => void)[] = [];
  private readonly lineListeners: ((line: string) => void)[] = [];
  private exitInfo: ExitStatus | undefined;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: ManagedChildOptions = {},
  ) {
    this.process = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = options.keepLines ?? 200;
    const collect = (
      stream: NodeJS.ReadableStream | null,
      isStdout: boolean,
    ) => {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          this.tail.push(line);
          if (this.tail.length > keep) this.tail.shift();
          if (isStdout)
            for (const listener of this.stdoutListeners) listener(line);
          for (const listener of this.lineListeners) listener(line);
        }
      });
    };
    collect(this.process.stdout, true);
    collect(this.process.stderr, false);
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.process.once('error', (error) => {
        this.tail.push(`spawn failed: ${error.message}`);
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** `undefined` while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.exitInfo;
  }

  onStdoutLine(listener: (line: string) => void): void {
    this.stdoutListeners.push(listener);
  }

  /** Every line of stdout and stderr. */
  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  /** The kept lines of stdout and stderr, in arrival order. */
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
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) await this.kill();
  }
}
