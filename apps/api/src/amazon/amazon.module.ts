import { DynamicModule, Module } from '@nestjs/common';
import { LWA_CLIENT_OPTIONS, LwaClient, LwaClientOptions } from './lwa.client';

/**
 * Talks to Login with Amazon and the Ads API. Needs `APP_CONFIG` (the global ConfigModule).
 * Import it as is, or through {@link AmazonModule.register} to tune timeouts and backoff.
 */
@Module({
  providers: [LwaClient],
  exports: [LwaClient],
})
export class AmazonModule {
  static register(options: LwaClientOptions): DynamicModule {
    return {
      module: AmazonModule,
      providers: [{ provide: LWA_CLIENT_OPTIONS, useValue: options }],
    };
  }
}
