import { Injectable, OnModuleInit } from '@nestjs/common';
import { AlertService } from '../alerts/alert.service';
import { RefreshMetrics } from '../metrics/refresh.metrics';
import { PauseChange, RefreshPause } from './refresh-pause';
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
    private readonly pause: RefreshPause,
  ) {}

  onModuleInit(): void {
    this.refresh.observe(this);
    this.pause.onChange((change) => this.pauseChanged(change));
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

  /** One alert when refreshes pause for every connection, one when they resume (no connection named). */
  pauseChanged(change: PauseChange): void {
    this.alerts.notify(
      change.paused
        ? {
            type: 'refresh_paused',
            message: `Refreshes are paused for every connection: ${change.reason}`,
          }
        : {
            type: 'refresh_resumed',
            message: `Refreshes resumed: Amazon accepts our client credentials again (paused for ${Math.round(change.pausedForMs / 1000)} s).`,
          },
    );
  }
}
