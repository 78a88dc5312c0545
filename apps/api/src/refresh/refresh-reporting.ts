import { Injectable, OnModuleInit } from '@nestjs/common';
import { AlertService } from '../alerts/alert.service';
import { RefreshMetrics } from '../metrics/refresh.metrics';
import { RefreshObserver, RefreshService } from './refresh.service';

const METRIC_OUTCOME = {
  refreshed: 'refreshed',
  failed: 'transient_failure',
  skipped: 'skipped',
  needs_reauth: 'needs_reauth',
  client_error: 'client_error',
} as const;

/** Feeds every refresh attempt to the metrics and every state change worth a page to the webhook. */
@Injectable()
export class RefreshReporting implements RefreshObserver, OnModuleInit {
  constructor(
    private readonly refresh: RefreshService,
    private readonly metrics: RefreshMetrics,
    private readonly alerts: AlertService,
  ) {}

  onModuleInit(): void {
    this.refresh.observe(this);
  }

  attemptFinished(
    outcome: keyof typeof METRIC_OUTCOME,
    durationMs: number,
  ): void {
    this.metrics.recordAttempt(METRIC_OUTCOME[outcome], durationMs / 1000);
  }

  connectionAlert(
    alert: Parameters<RefreshObserver['connectionAlert']>[0],
  ): void {
    this.alerts.notify({
      type: alert.type,
      connectionId: alert.connection.id,
      label: alert.connection.label,
      region: alert.connection.region,
      message: alert.message,
      correlationId: alert.correlationId,
    });
  }

  refreshPaused(reason: string): void {
    this.alerts.notify({ type: 'refresh_paused', message: reason });
  }
}
