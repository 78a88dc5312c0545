import { CONNECTION_STATUSES } from '@keeper/contracts';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { isLive } from '../connections/connection-rules';
import { ConnectionsRepository } from '../connections/connections.repository';
import { KeyRing } from '../crypto/key-ring';
import { KeyUsageService } from '../crypto/key-usage.service';
import { Database } from '../database/database';
import { METRIC_PREFIX, MetricsRegistry } from './metrics.registry';

/** Injection token of {@link DatabaseMetricsOptions} (tests shorten the timeout). */
export const DATABASE_METRICS_OPTIONS = Symbol('DATABASE_METRICS_OPTIONS');

export interface DatabaseMetricsOptions {
  /** For the whole read: statement timeout on the server, and the scrape's own wait. Default 2 s. */
  timeoutMs?: number;
  /** Unix milliseconds. */
  now?: () => number;
}

interface DatabaseSnapshot {
  connectionsByStatus: Map<string, number>;
  /** Unix seconds of the earliest access token expiry among live connections. */
  earliestExpiry: number | undefined;
  rowsByKeyId: Map<string, number>;
}

class ScrapeTimeoutError extends Error {
  override name = ScrapeTimeoutError.name;
}

/**
 * Gauges read from the database at scrape time: connections by status, the earliest access
 * token expiry, stored rows per Fernet key id, and whether the database answered. A scrape
 * while PostgreSQL is away still succeeds: `atk_database_up 0` and the database gauges empty.
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
  private wasDown = false;

  constructor(
    private readonly database: Database,
    private readonly connectionRows: ConnectionsRepository,
    private readonly keyUsage: KeyUsageService,
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
      help: 'Connections by status.',
      labelNames: ['status'],
      registers,
    });
    this.earliestExpiry = new Gauge({
      name: `${METRIC_PREFIX}access_token_earliest_expiry_seconds`,
      help: 'Seconds until the earliest access token of an active or degraded connection expires (negative: already expired; NaN: none).',
      registers,
    });
    this.encryptedRows = new Gauge({
      name: `${METRIC_PREFIX}encrypted_rows`,
      help: 'Stored rows with secrets, by Fernet key id; configured="false": FERNET_KEYS lacks the key and the rows are unreadable.',
      labelNames: ['key_id', 'configured'],
      registers,
    });
  }

  /** Reads the database and sets the gauges; never throws. */
  async collect(): Promise<void> {
    let snapshot: DatabaseSnapshot;
    try {
      snapshot = await this.readWithTimeout();
    } catch (error) {
      this.showDown(error);
      return;
    }
    if (this.wasDown) this.logger.log('Database metrics are readable again.');
    this.wasDown = false;
    this.up.set(1);

    this.connections.reset();
    for (const status of CONNECTION_STATUSES)
      this.connections.set({ status }, 0);
    for (const [status, count] of snapshot.connectionsByStatus)
      this.connections.set({ status }, count);

    this.earliestExpiry.set(
      snapshot.earliestExpiry === undefined
        ? Number.NaN
        : snapshot.earliestExpiry - this.now() / 1000,
    );

    this.encryptedRows.reset();
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
    if (!this.wasDown) {
      // Once per outage: a scraper calls every few seconds.
      this.logger.warn(
        `Database metrics unavailable: ${error instanceof Error ? error.name : 'unknown error'}`,
      );
    }
    this.wasDown = true;
  }

  private async readWithTimeout(): Promise<DatabaseSnapshot> {
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
    const reading = this.read();
    // A read that loses the race still settles (the statement timeout ends it); nobody waits for it.
    reading.catch(() => undefined);
    try {
      return await Promise.race([reading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(): Promise<DatabaseSnapshot> {
    return this.database.dataSource.transaction(async (manager) => {
      // The timeout as an integer literal: SET takes no bind parameters.
      await manager.query(
        `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(this.timeoutMs))}`,
      );
      const statuses = await this.connectionRows.statusCounts(manager);
      const rowsByKeyId = new Map<string, number>();
      for (const row of await this.keyUsage.countRows(manager))
        rowsByKeyId.set(
          row.key_id,
          (rowsByKeyId.get(row.key_id) ?? 0) + row.rows,
        );
      const liveExpiries = statuses
        .filter((row) => isLive(row.status) && row.earliestExpiry !== null)
        .map((row) => row.earliestExpiry as number);
      return {
        connectionsByStatus: new Map(
          statuses.map((row) => [row.status, row.connections]),
        ),
        earliestExpiry:
          liveExpiries.length > 0 ? Math.min(...liveExpiries) : undefined,
        rowsByKeyId,
      };
    });
  }
}
