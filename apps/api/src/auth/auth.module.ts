import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AccessGuard } from './access.guard';
import { ADMIN_PASSWORD, resolveAdminPassword } from './admin-password';
import {
  resolveServiceKeys,
  SERVICE_KEYS,
  ServiceKeyVerifier,
} from './service-key.verifier';
import { LoginLimiter } from './login-limiter';
import { SessionController } from './session.controller';
import { SessionService } from './session.service';

/** Admin login and sessions, the guard on every route, and service keys. */
@Module({
  controllers: [SessionController],
  providers: [
    {
      provide: ADMIN_PASSWORD,
      useFactory: (config: AppConfig) => resolveAdminPassword(config),
      inject: [APP_CONFIG],
    },
    {
      provide: SERVICE_KEYS,
      useFactory: (config: AppConfig) => resolveServiceKeys(config),
      inject: [APP_CONFIG],
    },
    SessionService,
    // Failed logins, counted in PostgreSQL across replicas.
    LoginLimiter,
    ServiceKeyVerifier,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [ADMIN_PASSWORD, SERVICE_KEYS, SessionService, ServiceKeyVerifier],
})
export class AuthModule {}
