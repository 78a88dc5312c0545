import { Fernet } from '@keeper/fernet';
import type { DataSource, EntityManager } from 'typeorm';
import { DatabaseUnavailableError } from '../common/domain-errors';
import { KeyRing } from '../crypto/key-ring';
import { Database } from '../database/database';
import { loadAppConfig } from '../config/app-config';
import {
  ConnectionsRepository,
  StatusCount,
} from '../connections/connections.repository';
import { KeyUsageService } from '../crypto/key-usage.service';
import { DatabaseStats, DatabaseStatsOptions } from './database-stats';
import { DatabaseMetrics, DatabaseMetricsOptions } from './database.metrics';
import { MetricsRegistry } from './metrics.registry';

describe(DatabaseMetrics.name, () => {
  const keyRing = new KeyRing([Fernet.generateKey()]);
  let metrics: MetricsRegistry;
  let stats: DatabaseStats | undefined;

  const sample = async (name: string) => {
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    return (await metric.get()).values;
  };

  const metricsOver = (
    database: Database,
    options?: DatabaseMetricsOptions & DatabaseStatsOptions,
  ): DatabaseMetrics => {
    stats = new DatabaseStats(
      database,
      new ConnectionsRepository(database, loadAppConfig({})),
      new KeyUsageService(database, keyRing),
      options,
    );
    return new DatabaseMetrics(database, stats, keyRing, metrics, options);
  };

  beforeEach(() => {
    metrics = new MetricsRegistry();
  });

  afterEach(async () => {
    await stats?.onModuleDestroy();
    stats = undefined;
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
    expect((await sample('atk_database_stats_age_seconds'))[0].value).toBeNaN();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('gives up on a database that does not answer within the timeout', async () => {
    const never = new Promise<never>(() => undefined);
    const hanging = Database.of({
      query: () => never,
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

describe(DatabaseStats.name, () => {
  const keyRing = new KeyRing([Fernet.generateKey()]);
  let metrics: MetricsRegistry;
  let clock: number;
  let counts: StatusCount[] | Error;
  let statusReads: number;

  /** A database that answers `SELECT 1` and the counts below, or fails them with `counts`. */
  const database = Database.of({
    query: async () => [{ '?column?': 1 }],
    transaction: async (work: (manager: EntityManager) => Promise<unknown>) =>
      work({ query: async () => [] } as unknown as EntityManager),
    entityMetadatas: [],
  } as unknown as DataSource);
  const connectionRows = {
    statusCounts: async () => {
      statusReads += 1;
      if (counts instanceof Error) throw counts;
      return counts;
    },
  } as unknown as ConnectionsRepository;

  const setUp = (options: DatabaseStatsOptions = {}) => {
    const stats = new DatabaseStats(
      database,
      connectionRows,
      new KeyUsageService(database, keyRing),
      { now: () => clock, ...options },
    );
    const sut = new DatabaseMetrics(database, stats, keyRing, metrics, {
      now: () => clock,
    });
    return { stats, sut };
  };

  const sample = async (name: string, labels: Record<string, string> = {}) => {
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    return (await metric.get()).values.find((value) =>
      Object.entries(labels).every(
        ([key, label]) => value.labels[key] === label,
      ),
    )?.value;
  };

  beforeEach(() => {
    metrics = new MetricsRegistry();
    clock = 1_800_000_000_000;
    counts = [
      { status: 'active', connections: 7, earliestExpiry: 1_800_000_600 },
    ];
    statusReads = 0;
  });

  afterEach(() => {
    metrics.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('shows the counts of the last read at scrape time, without counting again, with their age', async () => {
    const { stats, sut } = setUp();
    await stats.refresh();
    counts = [{ status: 'active', connections: 9, earliestExpiry: null }];
    clock += 5_000;

    await sut.collect();
    await sut.collect();

    expect(statusReads).toBe(1);
    expect(await sample('atk_connections', { status: 'active' })).toBe(7);
    expect(await sample('atk_connections', { status: 'degraded' })).toBe(0);
    expect(await sample('atk_access_token_earliest_expiry_seconds')).toBe(595);
    expect(await sample('atk_database_stats_age_seconds')).toBe(5);

    await stats.refresh();
    await sut.collect();
    expect(await sample('atk_connections', { status: 'active' })).toBe(9);
    expect(await sample('atk_database_stats_age_seconds')).toBe(0);
  });

  it('reads once before the first scrape when no read has succeeded yet', async () => {
    const { sut } = setUp();

    await sut.collect();

    expect(statusReads).toBe(1);
    expect(await sample('atk_connections', { status: 'active' })).toBe(7);
  });

  it('keeps the last counts when a read fails, marked stale and growing older, and logs it once', async () => {
    const { stats, sut } = setUp();
    const warn = jest
      .spyOn(stats['logger'], 'warn')
      .mockImplementation(() => undefined);
    jest.spyOn(stats['logger'], 'log').mockImplementation(() => undefined);
    await stats.refresh();
    expect(stats.stale).toBe(false);
    counts = new Error('canceling statement due to statement timeout');
    clock += 30_000;

    await stats.refresh();
    await stats.refresh();
    await sut.collect();

    expect(stats.stale).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(await sample('atk_connections', { status: 'active' })).toBe(7);
    expect(await sample('atk_database_stats_age_seconds')).toBe(30);

    counts = [{ status: 'active', connections: 8, earliestExpiry: null }];
    await stats.refresh();
    expect(stats.stale).toBe(false);
    expect(stats.snapshot?.connectionsByStatus.get('active')).toBe(8);
  });

  it('runs one read at a time: a refresh during a read joins it', async () => {
    const { stats } = setUp();

    await Promise.all([stats.refresh(), stats.refresh(), stats.refresh()]);

    expect(statusReads).toBe(1);
  });

  it('reads at bootstrap and then every interval, until the module is destroyed', async () => {
    jest.useFakeTimers();
    try {
      const { stats } = setUp({ refreshIntervalMs: 15_000 });

      stats.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(0);
      expect(statusReads).toBe(1);
      await jest.advanceTimersByTimeAsync(15_000);
      expect(statusReads).toBe(2);

      await stats.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(60_000);
      expect(statusReads).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
