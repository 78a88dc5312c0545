import {
  DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { DatabaseUnavailableError } from '../common/domain-errors';
import { columnKeyRing } from './encrypted-column';
import { KeyRing } from './key-ring';
import {
  assertStoredKeysConfigured,
  devKeyWarning,
  LoadedKeyRing,
} from './key-ring.loader';
import { KeyUsage, KeyUsageService } from './key-usage.service';

const LOADED_KEY_RING = Symbol('LOADED_KEY_RING');

/**
 * The key ring, loaded once before Nest starts (`loadKeyRing` in `createHttpApp`, so a bad
 * key file stops the start with one line), and the key usage counts. It also registers the
 * ring for the entities' encrypted columns for as long as the app runs.
 */
@Global()
@Module({})
export class CryptoModule
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
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

  constructor(
    @Inject(LOADED_KEY_RING) private readonly loaded: LoadedKeyRing,
    private readonly keyUsage: KeyUsageService,
  ) {
    // Here rather than in onModuleInit: every provider is built before any init hook runs, so
    // no other module's start-up can read an encrypted column before the ring is in place.
    this.releaseColumnKeyRing = columnKeyRing.register(loaded.keyRing);
  }

  onModuleInit(): void {
    if (this.loaded.devKeyFile)
      this.logger.warn(devKeyWarning(this.loaded.devKeyFile));
  }

  /**
   * After the database module connected and migrated: a key ring that reads none of the stored
   * secrets stops the start (KeyRingError, one line from `main.ts`). With the database away (or
   * not migrated) at start this cannot be known; `/health/ready` reports unreadable rows.
   */
  async onApplicationBootstrap(): Promise<void> {
    let usage: KeyUsage;
    try {
      usage = await this.keyUsage.usage();
    } catch (error) {
      // Away, or not migrated yet (DB_MIGRATE=false): readiness says so; this start goes on.
      if (!(error instanceof DatabaseUnavailableError)) {
        this.logger.warn(
          `Could not count the stored rows per key id at start: ${(error as Error).message}`,
        );
      }
      return;
    }
    assertStoredKeysConfigured(
      usage,
      this.loaded.devKeyFile ? this.loaded.devKeyFile.path : 'FERNET_KEYS',
    );
  }

  onApplicationShutdown(): void {
    this.releaseColumnKeyRing();
  }
}
