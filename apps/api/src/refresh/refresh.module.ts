import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AmazonModule } from '../amazon/amazon.module';
import { AmazonOutage } from './amazon-outage';
import { ProfileReader } from './profile-reader';
import { ProfilesRefreshService } from './profiles-refresh.service';
import { RefreshController } from './refresh.controller';
import { RefreshPause } from './refresh-pause';
import { RefreshReporting } from './refresh-reporting';
import { RefreshScheduler } from './refresh.scheduler';
import { RefreshService } from './refresh.service';

/** The refresh sweep and the one code path that refreshes a connection. */
@Module({
  imports: [ScheduleModule.forRoot(), AmazonModule],
  controllers: [RefreshController],
  providers: [
    RefreshService,
    ProfileReader,
    ProfilesRefreshService,
    RefreshScheduler,
    RefreshPause,
    RefreshReporting,
    AmazonOutage,
  ],
  exports: [RefreshService, RefreshScheduler, RefreshPause, ProfileReader],
})
export class RefreshModule {}
