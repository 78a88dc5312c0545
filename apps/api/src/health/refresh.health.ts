import { Inject, Injectable } from '@nestjs/common';
import {
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RefreshPause } from '../refresh/refresh-pause';
import { RefreshScheduler } from '../refresh/refresh.scheduler';

@Injectable()
export class RefreshHealthIndicator {
  private readonly startedAt = Date.now();

  constructor(
    private readonly scheduler: RefreshScheduler,
    private readonly pause: RefreshPause,
    private readonly health: HealthIndicatorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The sweep ticked within the last two periods (or the process is younger than that). */
  isSchedulerTicking(): HealthIndicatorResult {
    const check = this.health.check('scheduler');
    const allowedMs = 2 * this.scheduler.periodMs;
    const last = this.scheduler.lastTickAt?.getTime() ?? this.startedAt;
    return Date.now() - last <= allowedMs
      ? check.up({
          lastTickAt: this.scheduler.lastTickAt?.toISOString() ?? null,
        })
      : check.down({
          message: `The refresh scheduler has not ticked for ${Math.round((Date.now() - last) / 1000)} s.`,
        });
  }

  /** Client credentials are set and Amazon has not rejected them. */
  isAmazonClientUsable(): HealthIndicatorResult {
    const check = this.health.check('amazon');
    const target = this.config.amazon.usingSandbox
      ? 'LWA sandbox'
      : 'Login with Amazon';
    return this.pause.reason
      ? check.down({ message: this.pause.reason })
      : check.up({ target });
  }
}
