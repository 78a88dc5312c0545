import { Global, Module } from '@nestjs/common';
import { AuditPruner } from './audit-pruner';
import { AuditService } from './audit.service';

@Global()
@Module({
  providers: [AuditService, AuditPruner],
  exports: [AuditService],
})
export class AuditModule {}
