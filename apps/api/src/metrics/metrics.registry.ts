import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'atk_';

/**
 * How often the event loop lag (`atk_nodejs_eventloop_lag_*`) is sampled. prom-client's
 * default, 10 ms, wakes an idle API 100 times a second: measured alone, that timer cost 0.55 %
 * of a core, more than the goal for the whole API between sweeps (README, "Measured"). At
 * 100 ms a stall still shows (it delays the next sample), and a 15 s scrape holds 150 samples.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The Prometheus registry of one app instance. Not prom-client's global default registry:
 * tests start several apps in one process, and each must count only its own requests.
 */
@Injectable()
export class MetricsRegistry implements OnApplicationShutdown {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: METRIC_PREFIX,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
  }

  /** `text/plain; version=0.0.4; charset=utf-8` */
  get contentType(): string {
    return this.registry.contentType;
  }

  onApplicationShutdown(): void {
    this.registry.clear();
  }
}
