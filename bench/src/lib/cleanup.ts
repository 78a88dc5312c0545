/**
 * Everything the bench starts registers how to undo it here; `runCleanups` undoes it in reverse
 * order, each step bounded in time, once (normal end, failure, Ctrl-C or SIGTERM alike).
 */
type Cleanup = { name: string; run: () => Promise<void> | void };

const cleanups: Cleanup[] = [];
let running: Promise<void> | undefined;

export function onCleanup(name: string, run: Cleanup['run']): () => void {
  const entry = { name, run };
  cleanups.push(entry);
  return () => {
    const index = cleanups.indexOf(entry);
    if (index >= 0) cleanups.splice(index, 1);
  };
}

export function runCleanups(timeoutMs = 20_000): Promise<void> {
  running ??= (async () => {
    while (cleanups.length > 0) {
      const entry = cleanups.pop() as Cleanup;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(entry.run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
          }),
        ]);
      } catch (error) {
        process.stderr.write(
          `bench: cleanup "${entry.name}" failed: ${(error as Error).message}\n`,
        );
      } finally {
        clearTimeout(timer);
      }
    }
  })();
  return running;
}

/** Runs a bench entry point: its exit code once everything it started is undone (also on failure). */
export function runAsMain(main: () => Promise<number>): void {
  main().then(
    async (code) => {
      await runCleanups();
      process.exit(code);
    },
    async (error: unknown) => {
      process.stderr.write(
        `bench: failed: ${(error as Error)?.stack ?? String(error)}\n`,
      );
      await runCleanups();
      process.exit(1);
    },
  );
}

/** Ctrl-C and SIGTERM: undo everything, then exit 130 / 143. A second signal exits at once. */
export function installSignalHandlers(): void {
  let signalled = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      if (signalled) {
        process.stderr.write(
          `bench: ${signal} again, exiting without finishing the cleanup\n`,
        );
        process.exit(code);
      }
      signalled = true;
      process.stderr.write(
        `\nbench: ${signal} received, stopping everything it started…\n`,
      );
      void runCleanups(10_000).finally(() => process.exit(code));
    });
  }
}
