import { Module } from '@nestjs/common';
import { RefreshModule } from '../refresh/refresh.module';
import { AccessTokenController } from './access-token.controller';
import { AccessTokenService } from './access-token.service';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';

/** Connections as the admin and the jobs see them: reads, edits, refresh now, access tokens. */
@Module({
  imports: [RefreshModule],
  controllers: [ConnectionsController, AccessTokenController],
  providers: [ConnectionsService, AccessTokenService],
})
export class TokenModule {}
