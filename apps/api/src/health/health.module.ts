import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';
import { RefreshModule } from '../refresh/refresh.module';
import { KeysHealthIndicator } from './keys.health';
import { RefreshHealthIndicator } from './refresh.health';
import { SystemController } from './system.controller';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), RefreshModule],
  controllers: [HealthController, SystemController],
  providers: [
    DatabaseHealthIndicator,
    KeysHealthIndicator,
    RefreshHealthIndicator,
  ],
})
export class HealthModule {}
