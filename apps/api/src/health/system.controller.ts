import { Controller, Get, Inject } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { ReadinessCheckDto, SystemStatusDto } from '@keeper/contracts';
import { SESSION_COOKIE } from '../auth/session.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyUsageService } from '../crypto/key-usage.service';
import { RefreshPause } from '../refresh/refresh-pause';
import { RefreshScheduler } from '../refresh/refresh.scheduler';
import { DatabaseHealthIndicator } from './database.health';
import { KeysHealthIndicator } from './keys.health';
import { RefreshHealthIndicator } from './refresh.health';

function toChecks(result: HealthIndicatorResult): ReadinessCheckDto[] {
  return Object.entries(result).map(([name, check]) => ({
    name,
    status: check.status === 'up' ? 'up' : 'down',
    message: typeof check['message'] === 'string' ? check['message'] : null,
  }));
}

/** What the console's System page shows: the readiness checks, keys and the scheduler. */
@ApiTags('operations')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('system')
export class SystemController {
  constructor(
    private readonly database: DatabaseHealthIndicator,
    private readonly keys: KeysHealthIndicator,
    private readonly refresh: RefreshHealthIndicator,
    private readonly keyUsage: KeyUsageService,
    private readonly scheduler: RefreshScheduler,
    private readonly pause: RefreshPause,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Readiness checks, Amazon or the sandbox, key ids and rows per key, the scheduler',
  })
  @ApiOkResponse({
    schema: {
      example: {
        usingSandbox: true,
        refreshWindowSeconds: 300,
        refreshCron: '0 * * * * *',
        schedulerLastTickAt: '2026-11-24T14:00:00.000Z',
        refreshPausedReason: null,
        keys: [
          {
            keyId: '2a9cdacb4231a41f',
            primary: true,
            configured: true,
            rows: 12,
          },
        ],
        checks: [{ name: 'database', status: 'up', message: null }],
      },
    },
  })
  async status(): Promise<SystemStatusDto> {
    const results = await Promise.all([
      this.database.isReachable(),
      Promise.resolve(this.database.areMigrationsApplied()),
      this.keys.areStoredKeysConfigured(),
      Promise.resolve(this.refresh.isSchedulerTicking()),
      Promise.resolve(this.refresh.isAmazonClientUsable()),
    ]);
    const usage = await this.keyUsage.usage().catch(() => undefined);
    return {
      usingSandbox: this.config.amazon.usingSandbox,
      refreshWindowSeconds: this.config.refresh.windowSeconds,
      refreshCron: this.config.refresh.cron,
      schedulerLastTickAt: this.scheduler.lastTickAt?.toISOString() ?? null,
      refreshPausedReason: this.pause.reason ?? null,
      keys: (usage?.keys ?? []).map((key) => ({
        keyId: key.keyId,
        primary: key.primary,
        configured: key.configured,
        rows: key.rows,
      })),
      checks: results.flatMap(toChecks),
    };
  }
}
