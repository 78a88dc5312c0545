import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { DataSource, Migration } from 'typeorm';
import { DatabaseUnavailableError } from '../common/domain-errors';
import { Database } from './database';
import { DATABASE_MODEL, DATABASE_TARGET } from './database.tokens';
import {
  dataSourceOptions,
  DatabaseModel,
  DatabaseTarget,
} from './data-source-options';

/** SQLSTATEs that retrying cannot fix: wrong password, unknown database or role. */
const CONFIGURATION_ERRORS: Record<string, string> = {
  // With password authentication PostgreSQL answers an unknown role this way too, on purpose.
  '28P01':
    'the password was rejected, or the role (user) does not exist: PostgreSQL does not say which',
  '28000': 'the server refused this role',
  '3D000': 'the database does not exist',
  '42501': 'the role lacks a privilege the schema needs',
};

/**
 * SQLSTATE 28000 (invalid authorization) covers several refusals; the server's message (in
 * English unless lc_messages says otherwise) tells them apart.
 */
function invalidAuthorizationReason(message: string): string {
  if (/role ".*" does not exist/.test(message))
    return 'the role (user) does not exist';
  if (/is not permitted to log in/.test(message))
    return 'the role exists but is not allowed to log in (NOLOGIN)';
  if (/pg_hba\.conf/.test(message))
    return "the server's pg_hba.conf admits no connection from here for this role and database";
  return CONFIGURATION_ERRORS['28000'];
}

/** The database refused us for a reason that retrying cannot fix; the process should stop. */
export class DatabaseConfigurationError extends Error {
  override name = DatabaseConfigurationError.name;
}

const RETRY_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];
/** The advisory lock (per database) that replicas hold while they apply migrations. */
const MIGRATION_LOCK = 'ads-token-keeper:migrations';

function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/**
 * Owns the TypeORM DataSource. The API starts even when PostgreSQL is away: the first attempt
 * runs at start (so a wrong password or database name stops the process with one clear line),
 * and later attempts run in the background until the server answers. Until then every query
 * fails with {@link DatabaseUnavailableError} (503) and `/health/ready` says why.
 */
@Injectable()
export class DatabaseService
  extends Database
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(DatabaseService.name);
  private current: DataSource | undefined;
  private lastError: string | undefined = 'not connected yet';
  private migrationsApplied = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    @Inject(DATABASE_TARGET)
    private readonly target: DatabaseTarget & { migrate: boolean },
    @Inject(DATABASE_MODEL) private readonly model: DatabaseModel,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    const connected = await this.tryConnect();
    if (!connected) this.scheduleRetry(0);
  }

  /** The initialised DataSource, or a 503-mapped error while the database is away. */
  get dataSource(): DataSource {
    if (!this.current?.isInitialized)
      throw new DatabaseUnavailableError(this.lastError);
    return this.current;
  }

  /** For health checks: is the server answering right now? */
  async ping(timeoutMs = 2_000): Promise<void> {
    const dataSource = this.dataSource;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DatabaseUnavailableError('no answer within 2 s')),
        timeoutMs,
      );
    });
    try {
      await Promise.race([dataSource.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get areMigrationsApplied(): boolean {
    return this.migrationsApplied;
  }

  get unavailableReason(): string | undefined {
    return this.current?.isInitialized ? undefined : this.lastError;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    if (this.current?.isInitialized) await this.current.destroy();
  }

  private async tryConnect(): Promise<boolean> {
    const dataSource = new DataSource(
      dataSourceOptions(this.target, this.model),
    );
    try {
      await dataSource.initialize();
      if (this.target.schema) {
        await dataSource.query(
          `CREATE SCHEMA IF NOT EXISTS "${this.target.schema}"`,
        );
      }
      if (this.target.migrate) {
        const applied = await this.runMigrationsAlone(dataSource);
        if (applied.length > 0) {
          this.logger.log(
            `Applied migrations: ${applied.map((m) => m.name).join(', ')}`,
          );
        }
        this.migrationsApplied = true;
      } else {
        this.migrationsApplied = !(await dataSource.showMigrations());
        if (!this.migrationsApplied) {
          this.logger.warn(
            'Migrations are pending and DB_MIGRATE=false: run `npm run migrate`.',
          );
        }
      }
      this.current = dataSource;
      this.lastError = undefined;
      this.logger.log(
        `Connected to PostgreSQL at ${describeTarget(this.target.url)}`,
      );
      return true;
    } catch (error) {
      if (dataSource.isInitialized)
        await dataSource.destroy().catch(() => undefined);
      const code = (error as { code?: string }).code;
      const reason =
        code === '28000'
          ? invalidAuthorizationReason((error as Error).message ?? '')
          : code
            ? CONFIGURATION_ERRORS[code]
            : undefined;
      if (reason) {
        throw new DatabaseConfigurationError(
          `Cannot use the database at ${describeTarget(this.target.url)}: ${reason} (check DATABASE_URL).`,
        );
      }
      this.lastError = `PostgreSQL at ${describeTarget(this.target.url)} is unreachable: ${
        (error as Error).message || code || 'unknown error'
      }`;
      this.logger.warn(`${this.lastError}; retrying in the background`);
      return false;
    }
  }

  /**
   * Replicas starting together on a new database would each run the same migration (one fails on
   * "relation already exists"): a session-level advisory lock makes them take turns, and the later
   * ones find nothing left to apply.
   */
  private async runMigrationsAlone(
    dataSource: DataSource,
  ): Promise<Migration[]> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.query('SELECT pg_advisory_lock(hashtext($1))', [
        MIGRATION_LOCK,
      ]);
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner
        .query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK])
        .catch(() => undefined);
      await runner.release();
    }
  }

  private scheduleRetry(attempt: number): void {
    if (this.stopping) return;
    const delay =
      RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      this.tryConnect()
        .then((connected) => connected || this.scheduleRetry(attempt + 1))
        .catch((error: Error) => {
          // A configuration error found later (the server came back and refused us).
          this.lastError = error.message;
          this.logger.error(error.message);
          this.scheduleRetry(attempt + 1);
        });
    }, delay);
    this.retryTimer.unref();
  }
}
