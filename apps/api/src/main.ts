import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { ADMIN_PASSWORD, AdminPassword } from './auth/admin-password';
import { SERVICE_KEYS, ServiceKeys } from './auth/service-key.verifier';
import {
  AppConfig,
  InvalidConfigError,
  loadAppConfig,
} from './config/app-config';
import { readEnvironment } from './config/environment';
import { KeyRingError, loadKeyRing } from './crypto/key-ring.loader';
import { DatabaseConfigurationError } from './database/database.service';
import {
  EmbeddedDatabase,
  EmbeddedDatabaseError,
  startEmbeddedPostgres,
} from './database/embedded-postgres';
import { createHttpApp } from './http-app';

/** Configuration and start-up problems an operator can fix: one line, no stack trace. */
const EXPECTED_START_ERRORS = [
  InvalidConfigError,
  KeyRingError,
  DatabaseConfigurationError,
  EmbeddedDatabaseError,
];

function banner(
  config: AppConfig,
  embedded: boolean,
  admin: AdminPassword,
  serviceKeys: ServiceKeys,
): string {
  const api = `http://localhost:${config.port}`;
  // The contract asks `npm start` to print the password it uses; only a generated one is
  // printed, never one an operator set.
  const password = admin.generatedFile
    ? `${admin.value}   (generated into ${admin.generatedFile}; set ADMIN_PASSWORD to choose one)`
    : 'from ADMIN_PASSWORD';
  return [
    '',
    `  Console                ${config.consoleUrl}`,
    `  Admin password         ${password}`,
    `  ads-token-keeper API   ${api}/api/v1`,
    `  Swagger UI             ${api}/api/docs`,
    `  Readiness              ${api}/health/ready`,
    `  Database               ${embedded ? `embedded PostgreSQL in ${join(config.dataDir, 'postgres')}` : 'DATABASE_URL'}`,
    `  Amazon                 ${config.amazon.usingSandbox ? `LWA sandbox (${config.amazon.tokenUrlOverride})` : 'Login with Amazon'}`,
    ...(serviceKeys.generatedFile
      ? [
          `  Service key (jobs)     ${serviceKeys.keys[0]}   (generated into ${serviceKeys.generatedFile}; set SERVICE_API_KEYS to choose)`,
          '',
          '  Once an account is connected, a job calls the Ads API through the keeper:',
          `    curl -H "Authorization: Bearer ${serviceKeys.keys[0]}" ${api}/api/v1/connections/<connection id>/ads/v2/profiles`,
        ]
      : []),
    '',
  ].join('\n');
}

let embedded: EmbeddedDatabase | undefined;

async function bootstrap(): Promise<void> {
  const config = loadAppConfig(readEnvironment());
  // Before the database starts: a key problem stops the start at once.
  const keyRing = await loadKeyRing(config);
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres({
      clusterDir: join(config.dataDir, 'postgres'),
      log: (line) => process.stderr.write(`${line}\n`),
    });
  }
  const app = await createHttpApp(
    config,
    { url: config.databaseUrl ?? (embedded as EmbeddedDatabase).url },
    keyRing,
  );
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }

  // Nest's own shutdown hooks re-raise the signal when done, which would end the process
  // before the embedded database stops; so the order is ours: drain the API, then the database.
  // In production every line is JSON for the log collector; in development, a readable banner.
  const logger = new Logger('Main');
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (config.isProduction) logger.log(`${signal} received: shutting down`);
    else process.stderr.write(`${signal} received: shutting down\n`);
    app
      .close()
      .then(() => embedded?.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          if (config.isProduction)
            logger.error(`Shutdown failed: ${String(error)}`);
          else process.stderr.write(`Shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  if (config.isProduction)
    logger.log(`Listening on ${config.host}:${config.port}`);
  else
    process.stdout.write(
      banner(
        config,
        embedded !== undefined,
        app.get<AdminPassword>(ADMIN_PASSWORD),
        app.get<ServiceKeys>(SERVICE_KEYS),
      ),
    );
}

bootstrap().catch(async (error: unknown) => {
  await embedded?.stop().catch(() => undefined);
  if (EXPECTED_START_ERRORS.some((type) => error instanceof type)) {
    process.stderr.write(`${(error as Error).message}\n`);
  } else {
    process.stderr.write(
      `The API could not start: ${(error as Error)?.stack ?? String(error)}\n`,
    );
  }
  process.exit(1);
});
