import { Fernet } from '@keeper/fernet';
import type { DataSource } from 'typeorm';
import { DatabaseUnavailableError } from '../common/domain-errors';
import { KeyRing } from '../crypto/key-ring';
import { Database } from '../database/database';
import { loadAppConfig } from '../config/app-config';
import { ConnectionsRepository } from '../connections/connections.repository';
import { KeyUsageService } from '../crypto/key-usage.service';
import { DatabaseMetrics, DatabaseMetricsOptions } from './database.metrics';
import { MetricsRegistry } from './metrics.registry';

describe(DatabaseMetrics.name, () => {
  const keyRing = new KeyRing([Fernet.generateKey()]);
  let metrics: MetricsRegistry;

  const sample = async (name: string) => {
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    return (await metric.get()).values;
  };

  const metricsOver = (
    database: Database,
    options?: DatabaseMetricsOptions,
  ): DatabaseMetrics =>
    new DatabaseMetrics(
      database,
      new ConnectionsRepository(database, loadAppConfig({})),
      new KeyUsageService(database, keyRing),
      keyRing,
      metrics,
      options,
    );

  beforeEach(() => {
    metrics = new MetricsRegistry();
  });

  afterEach(() => {
    metrics.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('shows the database as down, without throwing, while it is unavailable', async () => {
    const away = new (class extends Database {
      get dataSource(): DataSource {
        throw new DatabaseUnavailableError('not connected yet');
      }
    })();
    const sut = metricsOver(away);
    const warn = jest
      .spyOn(sut['logger'], 'warn')
      .mockImplementation(() => undefined);

    await expect(sut.collect()).resolves.toBeUndefined();
    await sut.collect();

    expect(await sample('atk_database_up')).toEqual([
      expect.objectContaining({ value: 0 }),
    ]);
    expect(await sample('atk_connections')).toEqual([]);
    expect(await sample('atk_encrypted_rows')).toEqual([]);
    expect(
      (await sample('atk_access_token_earliest_expiry_seconds'))[0].value,
    ).toBeNaN();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('gives up on a database that does not answer within the timeout', async () => {
    const never = new Promise<never>(() => undefined);
    const hanging = Database.of({
      transaction: () => never,
    } as unknown as DataSource);
    const sut = metricsOver(hanging, { timeoutMs: 50 });
    jest.spyOn(sut['logger'], 'warn').mockImplementation(() => undefined);

    const started = Date.now();
    await sut.collect();

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await sample('atk_database_up')).toEqual([
      expect.objectContaining({ value: 0 }),
    ]);
  });
});
