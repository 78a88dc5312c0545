import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AmazonModule } from '../amazon/amazon.module';
import { AuthModule } from '../auth/auth.module';
import { AmazonOutage } from './amazon-outage';
import { RefreshPause } from './refresh-pause';
import { RefreshReporting } from './refresh-reporting';
import { RefreshScheduler } from './refresh.scheduler';
import { RefreshService } from './refresh.service';

/** The refresh sweep and the one code path that refreshes a connection. */
@Module({
  imports: [ScheduleModule.forRoot(), AmazonModule, AuthModule],
  providers: [
    RefreshService,
    RefreshScheduler,
    RefreshPause,
    RefreshReporting,
    AmazonOutage,
  ],
  exports: [RefreshService, RefreshScheduler, RefreshPause],
})
export class RefreshModule {}
