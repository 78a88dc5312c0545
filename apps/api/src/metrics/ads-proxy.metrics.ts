import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { METRIC_PREFIX, MetricsRegistry } from './metrics.registry';

/** Why the proxy sent a call to Amazon again. */
export type ProxyRetryCause =
  | 'unauthorized'
  | 'throttled'
  | 'server_error'
  | 'transport';

/** Seconds the keeper adds to a call (its own work, Amazon's time excluded): well under 5 ms. */
const OVERHEAD_BUCKETS = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/**
 * What the Ads API proxy reports: one call per answered request, one per retry, and the
 * profiles Amazon throttles right now. Never throws.
 */
@Injectable()
export class AdsProxyMetrics {
  private readonly calls: Counter<
    'region' | 'method' | 'status_class' | 'origin'
  >;
  private readonly retries: Counter<'cause'>;
  private readonly overhead: Histogram;
  private readonly throttled: Gauge;
  private throttledCount: () => number = () => 0;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.calls = new Counter({
      name: `${METRIC_PREFIX}ads_proxy_calls_total`,
      help: 'Calls through the Ads API proxy by region, method and status class; origin="keeper" when the keeper answered itself.',
      labelNames: ['region', 'method', 'status_class', 'origin'],
      registers,
    });
    this.retries = new Counter({
      name: `${METRIC_PREFIX}ads_proxy_retries_total`,
      help: 'Calls the proxy sent to Amazon again, by cause (unauthorized: after one refresh; throttled: 429; server_error: 5xx; transport: reset, refused, timeout).',
      labelNames: ['cause'],
      registers,
    });
    this.overhead = new Histogram({
      name: `${METRIC_PREFIX}ads_proxy_overhead_seconds`,
      help: "Time the keeper added to a call until Amazon's answer started back: its own work, Amazon's time and waits excluded.",
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    const readThrottled = () => this.throttledCount();
    this.throttled = new Gauge({
      name: `${METRIC_PREFIX}ads_proxy_throttled_profiles`,
      help: 'Profiles (per region) Amazon throttles right now: calls for them wait.',
      registers,
      collect() {
        this.set(readThrottled());
      },
    });
  }

  /** Where the gauge reads the number of throttled profiles. */
  countThrottledWith(count: () => number): void {
    this.throttledCount = count;
  }

  recordCall(call: {
    region: string;
    method: string;
    status: number;
    origin: 'amazon' | 'keeper';
    overheadSeconds?: number;
  }): void {
    this.calls.inc({
      region: call.region,
      method: call.method,
      status_class: `${Math.floor(call.status / 100)}xx`,
      origin: call.origin,
    });
    if (
      call.overheadSeconds !== undefined &&
      Number.isFinite(call.overheadSeconds) &&
      call.overheadSeconds >= 0
    )
      this.overhead.observe(call.overheadSeconds);
  }

  recordRetry(cause: ProxyRetryCause): void {
    this.retries.inc({ cause });
  }
}
