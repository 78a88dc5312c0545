import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { isLive } from '../connections/connection-rules';
import { ConnectionsRepository } from '../connections/connections.repository';
import { KeyUsageService } from '../crypto/key-usage.service';
import { Database } from '../database/database';

/** Injection token of {@link DatabaseStatsOptions} (tests shorten the timeout and the interval). */
export const DATABASE_STATS_OPTIONS = Symbol('DATABASE_STATS_OPTIONS');

export interface DatabaseStatsOptions {
  /** Between two background reads. Default 15 s. */
  refreshIntervalMs?: number;
  /** For one read: statement timeout on the server, and the read's own wait. Default 2 s. */
  timeoutMs?: number;
  /** Unix milliseconds. */
  now?: () => number;
}

/** What one read of the database found. */
export interface DatabaseStatsSnapshot {
  connectionsByStatus: Map<string, number>;
  /** Unix seconds of the earliest access token expiry among live connections. */
  earliestExpiry: number | undefined;
  rowsByKeyId: Map<string, number>;
  /** Unix milliseconds of the read. */
  readAt: number;
}

class StatsTimeoutError extends Error {
  override name = StatsTimeoutError.name;
}

/**
 * Connections by status, the earliest expiry and stored rows per key id, counted in the
 * background every {@link DatabaseStatsOptions.refreshIntervalMs} rather than at each scrape:
 * those counts read every row, about 150 ms at 100,000 connections (the README's `GET /metrics`
 * row says how fresh they are).
 * One read at a time; a read that fails keeps the last snapshot, which is then stale.
 */
@Injectable()
export class DatabaseStats implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseStats.name);
  private readonly refreshIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private current: DatabaseStatsSnapshot | undefined;
  private failing = false;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Database,
    private readonly connectionRows: ConnectionsRepository,
    private readonly keyUsage: KeyUsageService,
    @Optional()
    @Inject(DATABASE_STATS_OPTIONS)
    options: DatabaseStatsOptions = {},
  ) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 15_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** The last successful read; `undefined` until one succeeded. */
  get snapshot(): DatabaseStatsSnapshot | undefined {
    return this.current;
  }

  /** True when the last read failed: {@link snapshot} is older than it should be. */
  get stale(): boolean {
    return this.failing;
  }

  /** Seconds since the last successful read; `undefined` before the first. */
  get ageSeconds(): number | undefined {
    return this.current && (this.now() - this.current.readAt) / 1000;
  }

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshIntervalMs);
    // A background read must never keep the process alive.
    this.timer.unref();
  }

  /** Before the database closes (its `onApplicationShutdown`): no read left running against it. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  /**
   * Reads the database now (or joins the read already running) and keeps the result; never
   * throws. Tests call it to see a write without waiting for the interval.
   */
  refresh(): Promise<void> {
    this.reading ??= this.readAndKeep().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readAndKeep(): Promise<void> {
    try {
      this.current = await this.readWithTimeout();
    } catch (error) {
      if (!this.failing) {
        // Once per outage: the next reads fail the same way.
        this.logger.warn(
          `Reading connection and key counts failed; the metrics keep the last ones: ${error instanceof Error ? error.name : 'unknown error'}`,
        );
      }
      this.failing = true;
      return;
    }
    if (this.failing) this.logger.log('Connection and key counts read again.');
    this.failing = false;
  }

  private async readWithTimeout(): Promise<DatabaseStatsSnapshot> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new StatsTimeoutError('The database did not answer in time.')),
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

  private async read(): Promise<DatabaseStatsSnapshot> {
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
        readAt: this.now(),
      };
    });
  }
}
