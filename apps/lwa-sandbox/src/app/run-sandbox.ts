import {
  RunningSandbox,
  SandboxLogger,
  startLwaSandbox,
} from '@keeper/lwa-sandbox';
import { readSandboxEnv } from './sandbox-env';

/** Where the app writes its lines: the console in production of this shell, a buffer in tests. */
export interface AppOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Starts the sandbox from the environment; answers undefined (after saying why) when it cannot. */
export async function runSandboxApp(
  env: NodeJS.ProcessEnv,
  output: AppOutput,
): Promise<RunningSandbox | undefined> {
  const config = readSandboxEnv(env);
  if (!config.ok) {
    config.errors.forEach((line) => output.err(line));
    return undefined;
  }
  const logger: SandboxLogger = {
    info: (message) => output.out(message),
    warn: (message) => output.err(message),
    error: (message, error) =>
      output.err(
        error instanceof Error
          ? `${message}: ${error.stack ?? error.message}`
          : message,
      ),
  };
  try {
    const sandbox = await startLwaSandbox({ ...config.options, logger });
    output.out(
      `LWA sandbox listening on ${sandbox.url} (client id ${sandbox.clientId}; control API at ${sandbox.url}/__sandbox/)`,
    );
    return sandbox;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    output.err(
      `lwa-sandbox: cannot start on ${config.options.host ?? ''}:${config.options.port ?? ''}: ${reason}`,
    );
    return undefined;
  }
}
