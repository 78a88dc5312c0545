import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AmazonModule } from '../amazon/amazon.module';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AccessGuard } from './access.guard';
import { ADMIN_PASSWORD, resolveAdminPassword } from './admin-password';
import { AmazonAuthController } from './amazon-auth.controller';
import { AmazonConnectService } from './amazon-connect.service';
import { ServiceKeyVerifier } from './service-key.verifier';
import { LOGIN_ATTEMPTS_PER_MINUTE, SessionController } from './session.controller';
import { SessionService } from './session.service';

/** Admin login, the guard on every route, service keys, and the Amazon connect flow. */
@Module({
  // Login attempts are counted per address in this process (see SessionController).
  imports: [
    AmazonModule,
    ThrottlerModule.forRoot({
      throttlers: [{ name: 'default', ttl: 60_000, limit: LOGIN_ATTEMPTS_PER_MINUTE }],
      errorMessage: 'Too many login attempts from this address: wait a minute and try again.',
    }),
  ],
  controllers: [SessionController, AmazonAuthController],
  providers: [
    { provide: ADMIN_PASSWORD, useFactory: (config: AppConfig) => resolveAdminPassword(config), inject: [APP_CONFIG] },
    SessionService,
    ServiceKeyVerifier,
    AmazonConnectService,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [ADMIN_PASSWORD, AmazonConnectService, SessionService],
})
export class AuthModule {}
