import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { InvalidConfigError, loadAppConfig } from './config/app-config';
import { readEnvironment } from './config/environment';
import { dataSourceOptions } from './database/data-source-options';
import { EmbeddedDatabaseError, startEmbeddedPostgres } from './database/embedded-postgres';

const USAGE = `Usage:
  npm run migrate              apply pending database migrations`;

/** Runs `task` against the configured database (the embedded one when DATABASE_URL is unset). */
async function withDatabase(task: (dataSource: DataSource) => Promise<void>): Promise<void> {
  const config = loadAppConfig(readEnvironment());
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({
        clusterDir: join(config.dataDir, 'postgres'),
        log: (line) => process.stderr.write(`${line}\n`),
      });
  const dataSource = new DataSource(dataSourceOptions({ url: config.databaseUrl ?? (embedded?.url as string) }));
  try {
    await dataSource.initialize();
    await task(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

async function migrate(): Promise<void> {
  await withDatabase(async (dataSource) => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    process.stdout.write(
      applied.length === 0
        ? 'The database schema is up to date.\n'
        : `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`,
    );
  });
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  migrate: () => migrate(),
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const run = command ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`${command ? `Unknown command "${command}".\n` : ''}${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  await run(args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const expected = error instanceof InvalidConfigError || error instanceof EmbeddedDatabaseError;
  process.stderr.write(`${expected ? (error as Error).message : (error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
