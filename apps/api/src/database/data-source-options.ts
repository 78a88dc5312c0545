// TypeORM loads the driver at run time; importing it here also lists it in the generated
// dist/apps/api/package.json that the production image installs from.
import 'pg';
import type { DataSourceOptions } from 'typeorm';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema';
import { AdminSessions1764000000001 } from './migrations/1764000000001-admin-sessions';
import { LoginAttempts1765000000004 } from './migrations/1765000000004-login-attempts';
import { ProfilesRead1766000000005 } from './migrations/1766000000005-profiles-read';
import { AuditRetention1766000000007 } from './migrations/1766000000007-audit-retention';
import { ConnectionPages1766000000008 } from './migrations/1766000000008-connection-pages';
import { ServiceKeys1766000000009 } from './migrations/1766000000009-service-keys';
import { RefreshPhase1766000000010 } from './migrations/1766000000010-refresh-phase';
import { ConnectLinks1766000000011 } from './migrations/1766000000011-connect-links';
import { SweepIndexes1766000000012 } from './migrations/1766000000012-sweep-indexes';

/** In order; the API is bundled, so migrations are listed, not globbed. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  AdminSessions1764000000001,
  LoginAttempts1765000000004,
  ProfilesRead1766000000005,
  AuditRetention1766000000007,
  ConnectionPages1766000000008,
  ServiceKeys1766000000009,
  RefreshPhase1766000000010,
  ConnectLinks1766000000011,
  SweepIndexes1766000000012,
];

export interface DatabaseTarget {
  url: string;
  /** A schema other than `public` (tests give each run its own). */
  schema?: string;
}

/**
 * The entities and subscribers the DataSource maps. The app gives them (`database-model.ts`
 * beside `app.module.ts`), so this folder imports no domain and every domain may import it.
 */
export type DatabaseModel = Required<
  Pick<DataSourceOptions, 'entities' | 'subscribers'>
>;

export function dataSourceOptions(
  target: DatabaseTarget,
  model: DatabaseModel,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: target.url,
    schema: target.schema,
    entities: model.entities,
    migrations: MIGRATIONS,
    subscribers: model.subscribers,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    applicationName: 'ads-token-keeper',
    // 20 per process: three replicas and their LISTEN clients stay well under PostgreSQL's
    // default 100 connections. With 10, a burst of 1,000 consent callbacks queued for a client.
    poolSize: 20,
    extra: {
      // How long a query may wait for a pool client (or a new connection). A server that is away
      // refuses at once; readiness has its own 2 s ping. 3 s failed callbacks under a burst of
      // 1,000 concurrent flows that only had to queue.
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    },
  };
}
