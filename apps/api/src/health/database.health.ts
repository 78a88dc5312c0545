import { Injectable } from '@nestjs/common';
import {
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { DatabaseService } from '../database/database.service';

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly database: DatabaseService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isReachable(): Promise<HealthIndicatorResult> {
    const check = this.health.check('database');
    try {
      await this.database.ping();
      return check.up();
    } catch (error) {
      return check.down({
        message: this.database.unavailableReason ?? (error as Error).message,
      });
    }
  }

  areMigrationsApplied(): HealthIndicatorResult {
    const check = this.health.check('migrations');
    return this.database.areMigrationsApplied
      ? check.up()
      : check.down({
          message:
            'Migrations are not applied yet (run `npm run migrate`, or start with DB_MIGRATE=true).',
        });
  }
}
