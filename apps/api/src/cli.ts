import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  AppConfig,
  InvalidConfigError,
  loadAppConfig,
} from './config/app-config';
import { readEnvironment } from './config/environment';
import { columnKeyRing } from './crypto/encrypted-column';
import { KeyRing } from './crypto/key-ring';
import {
  devKeyWarning,
  KeyRingError,
  loadKeyRing,
} from './crypto/key-ring.loader';
import {
  CommandOutput,
  generateKeyCommand,
  keyStatusCommand,
  parseRotateArguments,
  rotateKeysCommand,
  UsageError,
} from './crypto/keys.command';
import { DATABASE_MODEL } from './database-model';
import { Database } from './database/database';
import { dataSourceOptions } from './database/data-source-options';
import {
  EmbeddedDatabaseError,
  startEmbeddedPostgres,
} from './database/embedded-postgres';

const USAGE = `Usage:
  npm run migrate                           apply pending database migrations
  npm run keys -- generate                  print a new Fernet key (for FERNET_KEYS)
  npm run keys -- status                    key ids in FERNET_KEYS and how many stored rows each encrypts
  npm run keys -- rotate [--batch-size N]   re-encrypt every stored secret under the primary key
                                            (resumable, safe while the API runs; N rows per transaction, default 500)`;

/** Problems the operator can fix from the message alone: one line, no stack trace. */
class CommandError extends Error {
  override name = CommandError.name;
}

const output: CommandOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs `task` against the configured database (the embedded one when DATABASE_URL is unset). */
async function withDatabase(
  config: AppConfig,
  task: (dataSource: DataSource) => Promise<void>,
): Promise<void> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({
        clusterDir: join(config.dataDir, 'postgres'),
        log: (line) => output.err(`${line}\n`),
      });
  const dataSource = new DataSource(
    dataSourceOptions(
      { url: config.databaseUrl ?? (embedded?.url as string) },
      DATABASE_MODEL,
    ),
  );
  try {
    await dataSource.initialize();
    await task(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

/** `withDatabase`, with the key ring of FERNET_KEYS (or the development key file) in place. */
async function withKeys(
  task: (context: {
    dataSource: DataSource;
    keyRing: KeyRing;
  }) => Promise<number>,
): Promise<void> {
  const config = loadAppConfig(readEnvironment());
  // Before the database starts: a key problem stops the command at once.
  const loaded = await loadKeyRing(config);
  if (loaded.devKeyFile)
    output.err(`Warning: ${devKeyWarning(loaded.devKeyFile)}\n`);
  await withDatabase(config, async (dataSource) => {
    if (await dataSource.showMigrations()) {
      throw new CommandError(
        'The database schema is not up to date: run `npm run migrate` (or start the API once) first.',
      );
    }
    const release = columnKeyRing.register(loaded.keyRing);
    try {
      process.exitCode = await task({ dataSource, keyRing: loaded.keyRing });
    } finally {
      release();
    }
  });
}

async function migrate(): Promise<void> {
  await withDatabase(loadAppConfig(readEnvironment()), async (dataSource) => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    output.out(
      applied.length === 0
        ? 'The database schema is up to date.\n'
        : `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`,
    );
  });
}

async function keys(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'generate':
      if (rest.length > 0)
        throw new UsageError('keys generate takes no options.');
      process.exitCode = generateKeyCommand(output);
      return;
    case 'status':
      if (rest.length > 0)
        throw new UsageError('keys status takes no options.');
      return withKeys(({ dataSource, keyRing }) =>
        keyStatusCommand(
          { database: Database.of(dataSource), keyRing },
          output,
        ),
      );
    case 'rotate': {
      const rotateArguments = parseRotateArguments(rest);
      return withKeys(({ dataSource, keyRing }) =>
        rotateKeysCommand(
          { database: Database.of(dataSource), keyRing },
          rotateArguments,
          output,
        ),
      );
    }
    default:
      throw new UsageError(
        subcommand
          ? `Unknown keys command "${subcommand}".`
          : 'keys needs a command.',
      );
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  migrate: () => migrate(),
  keys: (args) => keys(args),
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const run = command ? COMMANDS[command] : undefined;
  if (!run)
    throw new UsageError(command ? `Unknown command "${command}".` : '');
  await run(args);
}

const EXPECTED_ERRORS = [
  InvalidConfigError,
  EmbeddedDatabaseError,
  KeyRingError,
  CommandError,
];

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    output.err(`${error.message ? `${error.message}\n` : ''}${USAGE}\n`);
    process.exit(2);
  }
  const expected = EXPECTED_ERRORS.some((type) => error instanceof type);
  output.err(
    `${expected ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
