import { AppOutput, runSandboxApp } from './app/run-sandbox';

const output: AppOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

void runSandboxApp(process.env, output).then((sandbox) => {
  if (!sandbox) {
    process.exitCode = 1;
    return;
  }
  const stop = (signal: NodeJS.Signals): void => {
    output.out(`LWA sandbox: ${signal} received, stopping`);
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
