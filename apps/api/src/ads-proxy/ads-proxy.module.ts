import { Module } from '@nestjs/common';
import { AccessTokensModule } from '../access-tokens/access-tokens.module';
import { AuthModule } from '../auth/auth.module';
import { RefreshModule } from '../refresh/refresh.module';
import { AdsProxyService } from './ads-proxy.service';

/**
 * The Ads API proxy. Its route is registered on Fastify by `registerAdsProxy` (see
 * ads-proxy.route.ts), not by a controller: it streams raw bodies both ways.
 */
@Module({
  imports: [AccessTokensModule, RefreshModule, AuthModule],
  providers: [AdsProxyService],
  exports: [AdsProxyService],
})
export class AdsProxyModule {}
