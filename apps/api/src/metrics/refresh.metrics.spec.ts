import { MetricsRegistry } from './metrics.registry';
import {
  REFRESH_OUTCOMES,
  RefreshMetricOutcome,
  RefreshMetrics,
} from './refresh.metrics';

describe(RefreshMetrics.name, () => {
  let metrics: MetricsRegistry;
  let sut: RefreshMetrics;

  /** A sample by its full name (`…_bucket`, `…_count` for histograms) and labels. */
  const valueOf = async (
    sampleName: string,
    labels: Record<string, string> = {},
  ) => {
    const name = sampleName.replace(/_(bucket|count|sum)$/, '');
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    const { values } = await metric.get();
    return (
      values as {
        value: number;
        labels: Record<string, string | number>;
        metricName?: string;
      }[]
    ).find(
      (value) =>
        (value.metricName ?? name) === sampleName &&
        Object.entries(labels).every(
          ([key, label]) => String(value.labels[key]) === label,
        ),
    )?.value;
  };

  beforeEach(() => {
    metrics = new MetricsRegistry();
    sut = new RefreshMetrics(metrics);
  });

  afterEach(() => metrics.onApplicationShutdown());

  it('lists every outcome at zero before the first attempt', async () => {
    for (const outcome of REFRESH_OUTCOMES) {
      expect(await valueOf('atk_refresh_attempts_total', { outcome })).toBe(0);
      expect(
        await valueOf('atk_refresh_duration_seconds_count', { outcome }),
      ).toBe(0);
    }
  });

  it('counts attempts by outcome and observes their duration', async () => {
    sut.recordAttempt('refreshed', 0.2);
    sut.recordAttempt('refreshed', 0.3);
    sut.recordAttempt('needs_reauth', 0.05);

    expect(
      await valueOf('atk_refresh_attempts_total', { outcome: 'refreshed' }),
    ).toBe(2);
    expect(
      await valueOf('atk_refresh_attempts_total', { outcome: 'needs_reauth' }),
    ).toBe(1);
    expect(
      await valueOf('atk_refresh_attempts_total', {
        outcome: 'transient_failure',
      }),
    ).toBe(0);
    expect(
      await valueOf('atk_refresh_duration_seconds_sum', {
        outcome: 'refreshed',
      }),
    ).toBeCloseTo(0.5);
    expect(
      await valueOf('atk_refresh_duration_seconds_bucket', {
        outcome: 'refreshed',
        le: '0.25',
      }),
    ).toBe(1);
    expect(
      await valueOf('atk_refresh_duration_seconds_bucket', {
        outcome: 'refreshed',
        le: '30',
      }),
    ).toBe(2);
  });

  it('records a scheduler tick: its time, duration and the connections claimed', async () => {
    const before = Date.now() / 1000;
    sut.recordSchedulerTick(1.5, 7);
    sut.recordSchedulerTick(0.01, 0);

    expect(
      await valueOf('atk_refresh_scheduler_last_tick_timestamp_seconds'),
    ).toBeGreaterThanOrEqual(Math.floor(before));
    expect(await valueOf('atk_refresh_sweep_claimed_total')).toBe(7);
    expect(await valueOf('atk_refresh_sweep_duration_seconds_count')).toBe(2);
  });

  it('never throws into the refresh code, whatever numbers it passes', async () => {
    expect(() => {
      sut.recordAttempt('refreshed', Number.NaN);
      sut.recordAttempt('skipped', -1);
      sut.recordAttempt('no-such-outcome' as RefreshMetricOutcome, 1);
      sut.recordSchedulerTick(Number.POSITIVE_INFINITY, -3);
      sut.recordSchedulerTick(Number.NaN, Number.NaN);
    }).not.toThrow();
    expect(
      await valueOf('atk_refresh_attempts_total', { outcome: 'refreshed' }),
    ).toBe(1);
    expect(
      await valueOf('atk_refresh_duration_seconds_count', {
        outcome: 'refreshed',
      }),
    ).toBe(0);
    expect(await valueOf('atk_refresh_sweep_claimed_total')).toBe(0);
  });
});
