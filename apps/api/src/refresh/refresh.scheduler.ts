import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob, CronTime } from 'cron';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { RefreshMetrics } from '../metrics/refresh.metrics';
import { APP_CONFIG } from '../config/config.module';
import { ProfileReader } from './profile-reader';
import { RefreshPause } from './refresh-pause';
import { RefreshOutcome, RefreshService } from './refresh.service';

/**
 * Rows claimed per query at most. The refreshes in flight at once per replica are
 * `REFRESH_CONCURRENCY` (config/app-config.ts, where its default is worked out).
 */
export const SWEEP_BATCH = 200;
/**
 * A claim is made at most this many seconds' worth of the cap on token requests
 * (`REFRESH_MAX_PER_SECOND`): claimed rows are leased (90 s) while they wait their turn.
 */
const CLAIM_SECONDS_OF_CAP = 20;
/** At shutdown, in-flight refreshes get this long to finish before their leases are released. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface SweepSummary {
  claimed: number;
  refreshed: number;
  failed: number;
  skipped: number;
  durationMs: number;
}

/**
 * Runs the refresh sweep on `REFRESH_CRON` (every minute by default). A sweep claims due
 * connections in batches until none is left; a tick that finds the previous sweep still
 * running does nothing. Several replicas may sweep at once: leases keep them apart.
 */
@Injectable()
export class RefreshScheduler
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  static readonly JOB_NAME = 'refresh-sweep';
  private readonly logger = new Logger(RefreshScheduler.name);
  private running: Promise<SweepSummary> | undefined;
  private stopping = false;
  private lastTick: Date | undefined;
  private readonly cronTime: CronTime;
  private period: number | undefined;

  constructor(
    private readonly refresh: RefreshService,
    private readonly pause: RefreshPause,
    private readonly profiles: ProfileReader,
    private readonly registry: SchedulerRegistry,
    private readonly metrics: RefreshMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.cronTime = new CronTime(config.refresh.cron);
  }

  onApplicationBootstrap(): void {
    const job = CronJob.from({
      cronTime: this.config.refresh.cron,
      onTick: () => void this.tick(),
      start: true,
    });
    this.registry.addCronJob(RefreshScheduler.JOB_NAME, job);
  }

  /** When the scheduler last ticked (for `/health/ready` and the System page). */
  get lastTickAt(): Date | undefined {
    return this.lastTick;
  }

  /**
   * Time between two ticks of the cron expression, worked out once: every readiness probe
   * reads it, and computing cron dates is not free.
   */
  get periodMs(): number {
    if (this.period === undefined) {
      const [first, second] = this.cronTime.sendAt(2);
      this.period = second.toMillis() - first.toMillis();
    }
    return this.period;
  }

  async tick(): Promise<SweepSummary | undefined> {
    this.lastTick = new Date();
    if (this.running || this.stopping) return undefined;
    this.running = this.sweep().finally(() => {
      this.running = undefined;
    });
    try {
      return await this.running;
    } catch (error) {
      this.logger.error({ err: error }, 'The refresh sweep failed');
      return undefined;
    }
  }

  /**
   * Refreshes every due connection; answers what happened. `REFRESH_CONCURRENCY` workers take
   * claimed rows from a queue, and the next rows are claimed while the last ones are refreshed
   * (when fewer than the workers are left), so the sweep never waits for a batch's slowest
   * refresh or for a claim between batches.
   */
  async sweep(): Promise<SweepSummary> {
    const started = performance.now();
    const summary: SweepSummary = {
      claimed: 0,
      refreshed: 0,
      failed: 0,
      skipped: 0,
      durationMs: 0,
    };
    const correlationId = `sweep-${randomUUID()}`;
    const deadline = Date.now() + Math.max(10_000, this.periodMs * 0.9);
    const { concurrency, maxPerSecond } = this.config.refresh;
    const batch = Math.min(SWEEP_BATCH, maxPerSecond * CLAIM_SECONDS_OF_CAP);
    await this.refresh.releaseLeftLeases();
    let probed = false;
    // A connection is attempted at most once per sweep, whatever its token's lifetime: the claim
    // skips rows leased (in the queue or in flight), rows refreshed since the sweep began, and
    // the rows in this set: those attempted and not refreshed (a failed row whose backoff ran
    // out during a long sweep), so due rows behind them are still reached in the same sweep.
    // Refreshed rows are left to the timestamp, not listed: a sweep of 10,000 sent 10,000 ids
    // with each of its last claims.
    const sweepBegan = new Date();
    const notRefreshed = new Set<string>();
    const queue: string[] = [];
    let exhausted = false;
    let claimError: unknown;
    let claiming: Promise<void> | undefined;

    const claimNext = async (): Promise<void> => {
      if (this.stopping || Date.now() >= deadline || this.pause.isHolding) {
        exhausted = true;
        return;
      }
      // Claimed rows leave the due set (refreshed, rescheduled or released as not due), so
      // attempts that changed nothing mean something is wrong: stop rather than spin.
      if (summary.claimed > 0 && summary.skipped >= summary.claimed) {
        exhausted = true;
        return;
      }
      // While paused, a probe: one connection; its success resumes the rest.
      let ids = await this.refresh.claimDue(
        this.pause.reason ? 1 : batch,
        [...notRefreshed],
        sweepBegan,
      );
      // Amazon seems down and nothing was due: one connection waiting out its backoff goes
      // early, once per sweep; its success makes the others due at once (AmazonOutage).
      if (
        ids.length === 0 &&
        summary.claimed === 0 &&
        !probed &&
        !this.pause.reason &&
        this.refresh.amazonSeemsDown
      ) {
        probed = true;
        ids = await this.refresh.claimOutageProbe();
      }
      if (ids.length === 0) exhausted = true;
      for (const id of ids) queue.push(id);
      summary.claimed += ids.length;
    };
    /** One claim at a time; a failed claim ends the sweep once the refreshes in flight end. */
    const claim = (): Promise<void> =>
      (claiming ??= claimNext()
        .catch((error: unknown) => {
          claimError ??= error;
          exhausted = true;
        })
        .finally(() => {
          claiming = undefined;
        }));
    const refreshOne = async (id: string) => {
      const outcome = await this.refreshClaimedSafely(id, correlationId);
      if (outcome.kind !== 'refreshed') notRefreshed.add(id);
      summary[
        outcome.kind === 'refreshed'
          ? 'refreshed'
          : outcome.kind === 'failed'
            ? 'failed'
            : 'skipped'
      ] += 1;
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        // While paused (a probe at a time), or once paused with nothing refreshed: no more.
        if (this.pause.reason && summary.refreshed === 0 && summary.claimed > 0)
          exhausted = true;
        const id = queue.shift();
        if (id === undefined) {
          if (exhausted) return;
          await claim();
          continue;
        }
        if (queue.length < concurrency && !exhausted && !this.pause.reason)
          void claim();
        await refreshOne(id);
      }
    };

    // The first connection goes alone: when Amazon rejects our client credentials, that one
    // request pauses the sweep before the rest repeat it.
    await claim();
    const canary = queue.shift();
    if (canary !== undefined) {
      await refreshOne(canary);
      await Promise.all(Array.from({ length: concurrency }, worker));
    }
    // Claimed and never attempted (the sweep stopped early, a claim still under way): given back.
    await claiming;
    for (const id of queue.splice(0)) await this.refresh.releaseClaim(id);
    // A claim failed (the database went away): before anything was claimed, the sweep failed;
    // later, it ends with what it did. The next sweep claims again either way.
    if (claimError !== undefined) {
      if (summary.claimed === 0) throw claimError;
      this.logger.warn(
        { correlationId, err: claimError },
        'Claiming due connections failed; the sweep ends early',
      );
    }
    try {
      await this.profiles.readStale(correlationId);
    } catch (error) {
      this.logger.warn(
        { correlationId, err: error },
        'Reading stale Ads profiles failed; the next sweep tries again',
      );
    }
    try {
      await this.profiles.readDaily(correlationId);
    } catch (error) {
      this.logger.warn(
        { correlationId, err: error },
        'The daily re-read of Ads profiles failed; the next sweep tries again',
      );
    }
    summary.durationMs = Math.round(performance.now() - started);
    this.metrics.recordSchedulerTick(
      summary.durationMs / 1000,
      summary.claimed,
    );
    if (summary.claimed > 0)
      this.logger.log({ correlationId, ...summary }, 'Refresh sweep finished');
    return summary;
  }

  private async refreshClaimedSafely(
    id: string,
    correlationId: string,
  ): Promise<RefreshOutcome> {
    if (this.pause.isHolding) {
      await this.refresh.releaseClaim(id);
      return { kind: 'skipped', reason: 'refreshes are paused' };
    }
    try {
      return await this.refresh.refreshClaimed(id, 'scheduler', correlationId);
    } catch (error) {
      this.logger.error(
        { err: error, connectionId: id, correlationId },
        'Refreshing a connection failed unexpectedly',
      );
      return { kind: 'skipped', reason: 'unexpected error' };
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.registry.doesExist('cron', RefreshScheduler.JOB_NAME))
      this.registry.deleteCronJob(RefreshScheduler.JOB_NAME);
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.running,
        new Promise(
          (resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)),
        ),
      ]);
      clearTimeout(timer);
    }
    await this.refresh.releaseAll().catch(() => undefined);
  }
}
