import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { METRIC_PREFIX, MetricsRegistry } from './metrics.registry';

/** How one refresh attempt of one connection ended. */
export const REFRESH_OUTCOMES = [
  'refreshed',
  'transient_failure',
  'needs_reauth',
  'client_error',
  'skipped',
] as const;
export type RefreshMetricOutcome = (typeof REFRESH_OUTCOMES)[number];

/** Seconds: an LWA round trip takes tens of milliseconds; retries with backoff up to ~30 s. */
const REFRESH_DURATION_BUCKETS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30,
];
/** Seconds: a sweep of a few connections, up to many batches with retries. */
const SWEEP_DURATION_BUCKETS = [
  0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

const usable = (value: number) => Number.isFinite(value) && value >= 0;

/**
 * What the refresh code reports: one call per attempt and one per scheduler tick. The methods
 * never throw (a bad number is ignored), so a metrics mistake can never fail a refresh.
 */
@Injectable()
export class RefreshMetrics {
  private readonly attempts: Counter<'outcome'>;
  private readonly attemptDuration: Histogram<'outcome'>;
  private readonly sweepDuration: Histogram;
  private readonly sweepClaimed: Counter;
  private readonly lastTick: Gauge;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: `${METRIC_PREFIX}refresh_attempts_total`,
      help: 'Refresh attempts by outcome (one per connection per attempt, retries inside it included).',
      labelNames: ['outcome'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: `${METRIC_PREFIX}refresh_duration_seconds`,
      help: 'Duration of refresh attempts, retries and backoff included, by outcome.',
      labelNames: ['outcome'],
      buckets: REFRESH_DURATION_BUCKETS,
      registers,
    });
    this.sweepDuration = new Histogram({
      name: `${METRIC_PREFIX}refresh_sweep_duration_seconds`,
      help: 'Duration of refresh scheduler sweeps.',
      buckets: SWEEP_DURATION_BUCKETS,
      registers,
    });
    this.sweepClaimed = new Counter({
      name: `${METRIC_PREFIX}refresh_sweep_claimed_total`,
      help: 'Connections claimed for refresh by the scheduler sweeps.',
      registers,
    });
    this.lastTick = new Gauge({
      name: `${METRIC_PREFIX}refresh_scheduler_last_tick_timestamp_seconds`,
      help: 'Unix time of the last refresh scheduler tick (0 before the first).',
      registers,
    });
    // Every outcome from the start, so rate() and absent-series alerts work before the first failure.
    for (const outcome of REFRESH_OUTCOMES) {
      this.attempts.labels(outcome).inc(0);
      this.attemptDuration.zero({ outcome });
    }
  }

  recordAttempt(outcome: RefreshMetricOutcome, durationSeconds: number): void {
    if (!REFRESH_OUTCOMES.includes(outcome)) return;
    this.attempts.labels(outcome).inc();
    if (usable(durationSeconds))
      this.attemptDuration.labels(outcome).observe(durationSeconds);
  }

  /** At the end of each tick; `claimed`: connections the sweep claimed (0 when there was nothing to do). */
  recordSchedulerTick(durationSeconds: number, claimed: number): void {
    this.lastTick.set(Date.now() / 1000);
    if (usable(durationSeconds)) this.sweepDuration.observe(durationSeconds);
    if (usable(claimed)) this.sweepClaimed.inc(claimed);
  }
}
