import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AuditEventsController } from './audit-events.controller';
import { AuditLogReader } from './audit-log.reader';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

@Module({
  // SessionService: each stream ends with the session that opened it.
  imports: [AuthModule],
  controllers: [EventsController, AuditEventsController],
  providers: [EventsService, AuditLogReader],
})
export class EventsModule {}
