import type { DataSource } from 'typeorm';

/**
 * What a service needs from the database: the DataSource of the moment. In the API it is
 * `DatabaseService` (which throws `DatabaseUnavailableError` while PostgreSQL is away and
 * reconnects by itself); the CLI passes `{ dataSource }` for the one it opened.
 */
export abstract class DataSourceProvider {
  abstract readonly dataSource: DataSource;
}
