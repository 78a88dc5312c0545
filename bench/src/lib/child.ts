import { ChildProcess, spawn } from 'node:child_process';
import { onCleanup } from './cleanup';

/** A child process whose output is kept (the last lines) for error reports, stopped on cleanup. */
export class ManagedChild {
  readonly process: ChildProcess;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>;
  private readonly tail: string[] = [];
  private stdoutListeners: ((line: string) => void)[] = [];
  private lineListeners: ((line: string) => void)[] = [];
  private exitInfo:
    | { code: number | null; signal: NodeJS.Signals | null }
    | undefined;
  private readonly unregister: () => void;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; keepLines?: number } = {},
  ) {
    this.process = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = options.keepLines ?? 80;
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
    this.unregister = onCleanup(`stop ${name}`, () => this.stop());
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  onStdoutLine(listener: (line: string) => void): void {
    this.stdoutListeners.push(listener);
  }

  /** Every line of stdout and stderr. */
  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  output(): string {
    return this.tail.join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.unregister();
    if (this.exitInfo) return;
    this.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (killed) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}
