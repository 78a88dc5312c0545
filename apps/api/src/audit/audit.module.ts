import { Global, Module } from '@nestjs/common';
import { AuditEventsController } from './audit-events.controller';
import { AuditLogReader } from './audit-log.reader';
import { AuditService } from './audit.service';

@Global()
@Module({
  controllers: [AuditEventsController],
  providers: [AuditService, AuditLogReader],
  exports: [AuditService, AuditLogReader],
})
export class AuditModule {}
