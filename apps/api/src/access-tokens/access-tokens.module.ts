import { Module } from '@nestjs/common';
import { RefreshModule } from '../refresh/refresh.module';
import { AccessTokenController } from './access-token.controller';
import { AccessTokenService } from './access-token.service';

/** Access tokens for jobs (service API key): refreshed first when due, shared by concurrent callers. */
@Module({
  imports: [RefreshModule],
  controllers: [AccessTokenController],
  providers: [AccessTokenService],
  exports: [AccessTokenService],
})
export class AccessTokensModule {}
