import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Database } from '../database/database';

/** How often the pruner looks for expired audit events. */
export const AUDIT_PRUNE_INTERVAL_MS = 5 * 60_000;
/** The first look, shortly after start (not at once: the start has enough to do). */
export const AUDIT_PRUNE_FIRST_RUN_MS = 30_000;

/** How a run deletes: rows per statement and the rest between statements. */
export interface AuditPruneTuning {
  batchSize: number;
  pauseMs: number;
}

/**
 * 5,000 rows per statement and 200 ms between statements: a DELETE locks only the rows it
 * removes, so the refreshes' inserts and the console's reads go on beside it, and the pause
 * leaves the database room. 1,000,000 expired events drain in about two minutes with the audit
 * page's p50 and p99 unchanged (`apps/api/test/measure/audit-prune-latency.ts`).
 */
export const DEFAULT_AUDIT_PRUNE_TUNING: AuditPruneTuning = {
  batchSize: 5_000,
  pauseMs: 200,
};

/** Lets a test prune in small batches without waiting. */
export const AUDIT_PRUNE_TUNING = Symbol('AUDIT_PRUNE_TUNING');

/** Text of the advisory-lock key, with the schema added, so one replica prunes a schema at a time. */
const PRUNE_LOCK = 'ads-token-keeper:audit-prune:';

/** What one run did. */
export interface AuditPruneResult {
  /** `false`: retention is off, another replica was pruning, or the run failed early. */
  ran: boolean;
  deleted: number;
  batches: number;
}

/**
 * Deletes audit events older than `AUDIT_RETENTION_DAYS` (README, "Configuration"), oldest
 * first, a batch at a time with a pause between batches, so a large backlog never holds the
 * table or the database for long. Runs shortly after start and then every
 * {@link AUDIT_PRUNE_INTERVAL_MS}; a replica that finds another one pruning (a session-level
 * advisory lock) leaves the work to it. Nothing references audit events (a notification carries
 * an id that the stream reads at once), so deleting them breaks no key and no live stream.
 * A failure (the database away) is logged and the next run tries again.
 */
@Injectable()
export class AuditPruner
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(AuditPruner.name);
  private readonly tuning: AuditPruneTuning;
  private firstRun: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AuditPruneResult> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly database: Database,
    @Inject(APP_CONFIG)
    private readonly config: Pick<AppConfig, 'auditRetentionDays'>,
    @Optional()
    @Inject(AUDIT_PRUNE_TUNING)
    tuning?: Partial<AuditPruneTuning>,
  ) {
    this.tuning = { ...DEFAULT_AUDIT_PRUNE_TUNING, ...tuning };
  }

  onApplicationBootstrap(): void {
    if (this.config.auditRetentionDays === 0) return;
    this.firstRun = setTimeout(() => void this.run(), AUDIT_PRUNE_FIRST_RUN_MS);
    this.firstRun.unref();
    this.timer = setInterval(() => void this.run(), AUDIT_PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timers and ends a run in progress after its current statement. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.firstRun);
    clearInterval(this.timer);
    this.wake?.();
    await this.running;
  }

  /**
   * Deletes every expired event, a batch at a time; a run still going when the next one is due
   * carries on alone. Never throws.
   */
  run(): Promise<AuditPruneResult> {
    if (this.running) return this.running;
    this.running = this.prune().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async prune(): Promise<AuditPruneResult> {
    const days = this.config.auditRetentionDays;
    const result: AuditPruneResult = { ran: false, deleted: 0, batches: 0 };
    if (days === 0 || this.stopping) return result;
    const started = Date.now();
    let runner: QueryRunner | undefined;
    let locked = false;
    try {
      runner = this.database.dataSource.createQueryRunner();
      const [lock]: { acquired: boolean }[] = await runner.query(
        'SELECT pg_try_advisory_lock(hashtext($1 || current_schema())) AS acquired',
        [PRUNE_LOCK],
      );
      locked = lock.acquired;
      if (!locked) {
        this.logger.debug('Another replica is pruning the audit log');
        return result;
      }
      result.ran = true;
      while (!this.stopping) {
        const deleted = await this.deleteBatch(runner, days);
        result.deleted += deleted;
        result.batches += 1;
        if (deleted < this.tuning.batchSize || this.stopping) break;
        await this.pause();
      }
    } catch (error) {
      this.logger.warn(
        { err: error, deleted: result.deleted },
        'Pruning the audit log failed; the next run tries again',
      );
      return result;
    } finally {
      if (runner) {
        // A connection whose unlock failed is broken, and its lock went with it.
        if (locked)
          await runner
            .query(
              'SELECT pg_advisory_unlock(hashtext($1 || current_schema()))',
              [PRUNE_LOCK],
            )
            .catch(() => undefined);
        await runner.release().catch(() => undefined);
      }
    }
    const line = `Pruned ${result.deleted} audit events older than ${days} days`;
    const fields = { ...result, retentionDays: days, ms: Date.now() - started };
    if (result.deleted > 0) this.logger.log(fields, line);
    else this.logger.debug(fields, line);
    return result;
  }

  /**
   * The oldest expired events first, through the index on `created_at`; the age is measured on
   * the database's clock, the one that stamped `created_at`.
   */
  private async deleteBatch(
    runner: QueryRunner,
    days: number,
  ): Promise<number> {
    const [, affected]: [unknown, number] = await runner.query(
      `DELETE FROM audit_events
        WHERE id IN (
          SELECT id FROM audit_events
           WHERE created_at < now() - make_interval(days => $1)
           ORDER BY created_at
           LIMIT $2)`,
      [days, this.tuning.batchSize],
    );
    return affected;
  }

  /** The rest between batches; shutdown cuts it short. */
  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.tuning.pauseMs);
      this.wake = () => {
        this.wake = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
