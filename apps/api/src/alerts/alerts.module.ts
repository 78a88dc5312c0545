import { Global, Module } from '@nestjs/common';
import { AlertService } from './alert.service';

/** Webhook alerts (`ALERT_WEBHOOK_URL`); `AlertService.notify` does nothing when it is unset. */
@Global()
@Module({
  providers: [AlertService],
  exports: [AlertService],
})
export class AlertsModule {}
