import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AmazonModule } from '../amazon/amazon.module';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AccessGuard } from './access.guard';
import { ADMIN_PASSWORD, resolveAdminPassword } from './admin-password';
import { AmazonAuthController } from './amazon-auth.controller';
import { AmazonConnectService } from './amazon-connect.service';
import { ServiceKeyVerifier } from './service-key.verifier';
import { LoginLimiter } from './login-limiter';
import { SessionController } from './session.controller';
import { SessionService } from './session.service';

/** Admin login, the guard on every route, service keys, and the Amazon connect flow. */
@Module({
  imports: [AmazonModule],
  controllers: [SessionController, AmazonAuthController],
  providers: [
    {
      provide: ADMIN_PASSWORD,
      useFactory: (config: AppConfig) => resolveAdminPassword(config),
      inject: [APP_CONFIG],
    },
    SessionService,
    // Failed logins, counted in PostgreSQL across replicas.
    LoginLimiter,
    ServiceKeyVerifier,
    AmazonConnectService,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [ADMIN_PASSWORD, AmazonConnectService, SessionService],
})
export class AuthModule {}
