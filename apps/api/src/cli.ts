import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { LwaClient } from './amazon/lwa.client';
import { AuditService } from './audit/audit.service';
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
import { ConnectionImporter } from './connection-import/connection-importer';
import { ImportFileError } from './connection-import/import-file';
import {
  ExportError,
  exportCommand,
  importCommand,
  parseExportArguments,
  parseImportArguments,
} from './connection-import/transfer.command';
import { ConnectionTwins } from './connections/connection-twins';
import { ConnectionsRepository } from './connections/connections.repository';
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
                                            (resumable, safe while the API runs; N rows per transaction, default 500)
  npm run import -- <file> [--format csv|json] [--from-key <old Fernet key>]
                                            import existing refresh tokens (CSV or JSON; Fernet-encrypted
                                            with --from-key), each proven by one refresh
  npm run export -- --to-key <Fernet key> [--out <file>]
                                            write every connection with its refresh token encrypted
                                            under that key (JSON, mode 0600, never over a file)`;

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
    config: AppConfig;
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
      process.exitCode = await task({
        dataSource,
        keyRing: loaded.keyRing,
        config,
      });
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

/** The services `import` and `export` use, as the API wires them (without Nest). */
function transferServices(dataSource: DataSource, config: AppConfig) {
  const database = Database.of(dataSource);
  const connections = new ConnectionsRepository(database, config);
  const audit = new AuditService(database);
  return { connections, audit, twins: new ConnectionTwins(connections, audit) };
}

async function importConnections(args: string[]): Promise<void> {
  const importArguments = parseImportArguments(args);
  // The summary says what happened to every line; the services' own log lines would repeat it.
  Logger.overrideLogger(['error', 'fatal']);
  return withKeys(async ({ dataSource, config }) => {
    const { connections, audit, twins } = transferServices(dataSource, config);
    const lwa = new LwaClient(config);
    try {
      return await importCommand(
        new ConnectionImporter(connections, twins, lwa, audit),
        importArguments,
        output,
      );
    } finally {
      lwa.onApplicationShutdown();
    }
  });
}

async function exportConnections(args: string[]): Promise<void> {
  const exportArguments = parseExportArguments(args);
  return withKeys(({ dataSource, config }) =>
    exportCommand(
      transferServices(dataSource, config),
      exportArguments,
      output,
    ),
  );
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  migrate: () => migrate(),
  keys: (args) => keys(args),
  import: (args) => importConnections(args),
  export: (args) => exportConnections(args),
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
  ImportFileError,
  ExportError,
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
