import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { columnKeyRing } from './encrypted-column';
import { KeyRing } from './key-ring';
import { devKeyWarning, LoadedKeyRing } from './key-ring.loader';
import { KeyUsageService } from './key-usage.service';

const LOADED_KEY_RING = Symbol('LOADED_KEY_RING');

/**
 * The key ring, loaded once before Nest starts (`loadKeyRing` in `createHttpApp`, so a bad
 * key file stops the start with one line), and the key usage counts. It also registers the
 * ring for the entities' encrypted columns for as long as the app runs.
 */
@Global()
@Module({})
export class CryptoModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Crypto');
  private readonly releaseColumnKeyRing: () => void;

  static forRoot(loaded: LoadedKeyRing): DynamicModule {
    return {
      module: CryptoModule,
      providers: [
        { provide: LOADED_KEY_RING, useValue: loaded },
        { provide: KeyRing, useValue: loaded.keyRing },
        KeyUsageService,
      ],
      exports: [KeyRing, KeyUsageService],
    };
  }

  constructor(@Inject(LOADED_KEY_RING) private readonly loaded: LoadedKeyRing) {
    // Here rather than in onModuleInit: every provider is built before any init hook runs, so
    // no other module's start-up can read an encrypted column before the ring is in place.
    this.releaseColumnKeyRing = columnKeyRing.register(loaded.keyRing);
  }

  onModuleInit(): void {
    if (this.loaded.devKeyFile) this.logger.warn(devKeyWarning(this.loaded.devKeyFile));
  }

  onApplicationShutdown(): void {
    this.releaseColumnKeyRing();
  }
}
