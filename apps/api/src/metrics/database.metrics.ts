import { CONNECTION_STATUSES } from '@keeper/contracts';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { KeyRing } from '../crypto/key-ring';
import { Database } from '../database/database';
import { DatabaseStats } from './database-stats';
import { METRIC_PREFIX, MetricsRegistry } from './metrics.registry';

/** Injection token of {@link DatabaseMetricsOptions} (tests shorten the timeout). */
export const DATABASE_METRICS_OPTIONS = Symbol('DATABASE_METRICS_OPTIONS');

export interface DatabaseMetricsOptions {
  /** For the scrape's ping: how long it waits for `SELECT 1`. Default 2 s. */
  timeoutMs?: number;
  /** Unix milliseconds. */
  now?: () => number;
}

class ScrapeTimeoutError extends Error {
  override name = ScrapeTimeoutError.name;
}

/**
 * The database gauges: connections by status, the earliest access token expiry and stored rows
 * per Fernet key id, from {@link DatabaseStats} (counted in the background, never at scrape
 * time), with the age of those counts; and whether the database answers, from a `SELECT 1` at
 * each scrape. A scrape while PostgreSQL is away still succeeds: `atk_database_up 0` and the
 * database gauges empty.
 */
@Injectable()
export class DatabaseMetrics {
  private readonly logger = new Logger(DatabaseMetrics.name);
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly up: Gauge;
  private readonly connections: Gauge<'status'>;
  private readonly earliestExpiry: Gauge;
  private readonly encryptedRows: Gauge<'key_id' | 'configured'>;
  private readonly statsAge: Gauge;
  private wasDown = false;

  constructor(
    private readonly database: Database,
    private readonly stats: DatabaseStats,
    private readonly keyRing: KeyRing,
    metrics: MetricsRegistry,
    @Optional()
    @Inject(DATABASE_METRICS_OPTIONS)
    options: DatabaseMetricsOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.now = options.now ?? Date.now;
    const registers = [metrics.registry];
    this.up = new Gauge({
      name: `${METRIC_PREFIX}database_up`,
      help: '1 when the database answered this scrape, 0 when it did not (the database gauges are then absent).',
      registers,
    });
    this.connections = new Gauge({
      name: `${METRIC_PREFIX}connections`,
      help: 'Connections by status, as of atk_database_stats_age_seconds ago.',
      labelNames: ['status'],
      registers,
    });
    this.earliestExpiry = new Gauge({
      name: `${METRIC_PREFIX}access_token_earliest_expiry_seconds`,
      help: 'Seconds until the earliest access token of an active or degraded connection expires (negative: already expired; NaN: none), as of atk_database_stats_age_seconds ago.',
      registers,
    });
    this.encryptedRows = new Gauge({
      name: `${METRIC_PREFIX}encrypted_rows`,
      help: 'Stored rows with secrets, by Fernet key id, as of atk_database_stats_age_seconds ago; configured="false": FERNET_KEYS lacks the key and the rows are unreadable.',
      labelNames: ['key_id', 'configured'],
      registers,
    });
    this.statsAge = new Gauge({
      name: `${METRIC_PREFIX}database_stats_age_seconds`,
      help: 'Seconds since the connection and key id counts were last read (every 15 s in the background; growing: the reads fail and the counts are stale). NaN: never read.',
      registers,
    });
  }

  /** Pings the database and sets the gauges from the last counts; never throws. */
  async collect(): Promise<void> {
    try {
      await this.ping();
    } catch (error) {
      this.showDown(error);
      return;
    }
    if (this.wasDown) this.logger.log('Database metrics are readable again.');
    this.wasDown = false;
    this.up.set(1);

    // Only until the first background read has succeeded (just after start): wait for one.
    if (!this.stats.snapshot) await this.stats.refresh();
    const snapshot = this.stats.snapshot;
    this.statsAge.set(this.stats.ageSeconds ?? Number.NaN);

    this.connections.reset();
    this.encryptedRows.reset();
    if (!snapshot) {
      this.earliestExpiry.set(Number.NaN);
      return;
    }
    for (const status of CONNECTION_STATUSES)
      this.connections.set({ status }, 0);
    for (const [status, count] of snapshot.connectionsByStatus)
      this.connections.set({ status }, count);

    this.earliestExpiry.set(
      snapshot.earliestExpiry === undefined
        ? Number.NaN
        : snapshot.earliestExpiry - this.now() / 1000,
    );

    for (const keyId of this.keyRing.keyIds)
      this.encryptedRows.set({ key_id: keyId, configured: 'true' }, 0);
    for (const [keyId, rows] of snapshot.rowsByKeyId) {
      this.encryptedRows.set(
        { key_id: keyId, configured: String(this.keyRing.holds(keyId)) },
        rows,
      );
    }
  }

  private showDown(error: unknown): void {
    this.up.set(0);
    this.connections.reset();
    this.encryptedRows.reset();
    this.earliestExpiry.set(Number.NaN);
    this.statsAge.set(this.stats.ageSeconds ?? Number.NaN);
    if (!this.wasDown) {
      // Once per outage: a scraper calls every few seconds.
      this.logger.warn(
        `Database metrics unavailable: ${error instanceof Error ? error.name : 'unknown error'}`,
      );
    }
    this.wasDown = true;
  }

  private async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ScrapeTimeoutError('The database did not answer in time.'),
          ),
        this.timeoutMs,
      );
    });
    const pinging = (async () => this.database.dataSource.query('SELECT 1'))();
    // A ping that loses the race still settles; nobody waits for it.
    pinging.catch(() => undefined);
    try {
      await Promise.race([pinging, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
