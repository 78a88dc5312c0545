import { Module } from '@nestjs/common';
import { AmazonModule } from '../amazon/amazon.module';
import { AuthModule } from '../auth/auth.module';
import { AmazonConnectController } from './amazon-connect.controller';
import { AmazonConnectService } from './amazon-connect.service';
import { OAuthStateCleanup } from './oauth-state-cleanup';

/** The Amazon consent flow (OAuth 2.0 code flow with PKCE), its states and their cleanup. */
@Module({
  imports: [AmazonModule, AuthModule],
  controllers: [AmazonConnectController],
  providers: [AmazonConnectService, OAuthStateCleanup],
})
export class ConnectModule {}
