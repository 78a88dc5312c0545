import { DataSource } from 'typeorm';
import { DATABASE_MODEL } from '../src/database-model';
import { dataSourceOptions } from '../src/database/data-source-options';
import { TestDatabase } from './test-database';

/**
 * A DataSource on the test file's schema with the migrations applied, for services used
 * outside Nest (as the CLI uses them). Entities with encrypted columns need a registered key
 * ring (`columnKeyRing.register`).
 */
export async function openTestDataSource(
  database: TestDatabase,
): Promise<DataSource> {
  const dataSource = new DataSource(
    dataSourceOptions(
      { url: database.url, schema: database.schema },
      DATABASE_MODEL,
    ),
  );
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
