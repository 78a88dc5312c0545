import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Overall status: every readiness check (200 or 503)' })
  overall(): Promise<HealthCheckResult> {
    return this.ready();
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (for restart probes)' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: the database answers and migrations are applied' })
  @ApiServiceUnavailableResponse({ description: 'A check is down; the body says which and why' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.isReachable(), () => this.database.areMigrationsApplied()]);
  }
}
