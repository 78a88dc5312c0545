import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AlertsModule } from './alerts/alerts.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ConnectModule } from './connect/connect.module';
import { ConnectionImportModule } from './connection-import/connection-import.module';
import { ConnectionsModule } from './connections/connections.module';
import { CryptoModule } from './crypto/crypto.module';
import { LoadedKeyRing } from './crypto/key-ring.loader';
import { DATABASE_MODEL } from './database-model';
import { DatabaseModule } from './database/database.module';
import { DatabaseTarget } from './database/data-source-options';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { RefreshModule } from './refresh/refresh.module';
import { AccessTokensModule } from './access-tokens/access-tokens.module';
import { AdsProxyModule } from './ads-proxy/ads-proxy.module';
import { loggerModuleParams } from './logging/logger-options';
import { MetricsModule } from './metrics/metrics.module';
import { ServiceKeysModule } from './service-keys/service-keys.module';

@Module({})
export class AppModule {
  static forRoot(
    config: AppConfig,
    database: DatabaseTarget,
    keyRing: LoadedKeyRing,
    logger: Logger,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerModuleParams(logger)),
        DatabaseModule.forRoot(
          { ...database, migrate: config.migrateOnStart },
          DATABASE_MODEL,
        ),
        CryptoModule.forRoot(keyRing),
        AuditModule,
        MetricsModule,
        AlertsModule,
        AuthModule,
        ServiceKeysModule,
        ConnectionsModule,
        ConnectModule,
        ConnectionImportModule,
        RefreshModule,
        AccessTokensModule,
        AdsProxyModule,
        HealthModule,
        EventsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
          }),
        },
      ],
    };
  }
}
