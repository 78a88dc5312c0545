import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/access.decorators';
import {
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
} from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { KeysHealthIndicator } from './keys.health';
import { RefreshHealthIndicator } from './refresh.health';

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly keys: KeysHealthIndicator,
    private readonly refresh: RefreshHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Overall status: every readiness check (200 or 503)',
  })
  overall(): Promise<HealthCheckResult> {
    return this.ready();
  }

  // GET /health/live is answered by Fastify itself: see ./liveness.ts.

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: the database answers, migrations are applied, every stored secret is under a configured key, the refresh scheduler ticks, Amazon accepts our client',
  })
  @ApiServiceUnavailableResponse({
    description: 'A check is down; the body says which and why',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.isReachable(),
      () => this.database.areMigrationsApplied(),
      () => this.keys.areStoredKeysConfigured(),
      () => this.refresh.isSchedulerTicking(),
      () => this.refresh.isAmazonClientUsable(),
    ]);
  }
}
