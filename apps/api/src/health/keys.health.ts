import { Injectable } from '@nestjs/common';
import {
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { KeyUsage, KeyUsageService } from '../crypto/key-usage.service';
import { DatabaseService } from '../database/database.service';

/** Down when a stored row is under a key that FERNET_KEYS no longer holds (key ids only, never keys). */
@Injectable()
export class KeysHealthIndicator {
  constructor(
    private readonly keyUsage: KeyUsageService,
    private readonly database: DatabaseService,
    private readonly health: HealthIndicatorService,
  ) {}

  async areStoredKeysConfigured(): Promise<HealthIndicatorResult> {
    const check = this.health.check('keys');
    let usage: KeyUsage;
    try {
      usage = await this.keyUsage.usage();
    } catch (error) {
      const reason =
        this.database.unavailableReason ?? (error as Error).message;
      return check.down({
        message: `Cannot count the stored rows per key id: ${reason}`,
      });
    }
    if (usage.rowsUnderMissingKeys === 0) return check.up();
    return check.down({
      message:
        `${usage.rowsUnderMissingKeys} stored row(s) are encrypted under key id(s) ` +
        `${usage.missingKeyIds.join(', ')} that FERNET_KEYS no longer holds`,
      missingKeyIds: usage.missingKeyIds,
    });
  }
}
