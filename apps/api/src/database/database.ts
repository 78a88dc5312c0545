import type {
  DataSource,
  EntityTarget,
  ObjectLiteral,
  Repository,
} from 'typeorm';

/**
 * The one handle every query goes through: the DataSource of the moment. In the API it is
 * `DatabaseService` (which throws `DatabaseUnavailableError` while PostgreSQL is away and
 * reconnects by itself); the CLI wraps the DataSource it opened with {@link Database.of}.
 * Only the health checks inject `DatabaseService` itself, for the connection's state.
 */
export abstract class Database {
  abstract readonly dataSource: DataSource;

  repository<Entity extends ObjectLiteral>(
    entity: EntityTarget<Entity>,
  ): Repository<Entity> {
    return this.dataSource.getRepository(entity);
  }

  /** A handle on a DataSource the caller opened and closes (the CLI's, a test's). */
  static of(dataSource: DataSource): Database {
    return new (class extends Database {
      readonly dataSource = dataSource;
    })();
  }
}
