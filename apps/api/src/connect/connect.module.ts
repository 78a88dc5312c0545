import { Module } from '@nestjs/common';
import { AmazonModule } from '../amazon/amazon.module';
import { AuthModule } from '../auth/auth.module';
import { AmazonConnectController } from './amazon-connect.controller';
import { AmazonConnectService } from './amazon-connect.service';
import { ConnectLinksController } from './connect-links.controller';
import { ConnectLinksService } from './connect-links.service';
import { OwnerLinkController } from './owner-link.controller';
import { OAuthStateCleanup } from './oauth-state-cleanup';

/**
 * The Amazon consent flow (OAuth 2.0 code flow with PKCE), its states and their cleanup, and
 * the connect links that let an account owner consent with no keeper login.
 */
@Module({
  imports: [AmazonModule, AuthModule],
  controllers: [
    AmazonConnectController,
    ConnectLinksController,
    OwnerLinkController,
  ],
  providers: [AmazonConnectService, ConnectLinksService, OAuthStateCleanup],
})
export class ConnectModule {}
