import { Injectable } from '@nestjs/common';
import {
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { KeyUsageService, MissingKeys } from '../crypto/key-usage.service';
import { DatabaseService } from '../database/database.service';

/**
 * Down when a stored row is under a key that FERNET_KEYS no longer holds (key ids only, never
 * keys). Asked of the database on every probe, never cached, yet cheap at any size: the
 * stored key ids come from the `key_id` indexes, and rows are counted only when some are
 * under a missing key.
 */
@Injectable()
export class KeysHealthIndicator {
  constructor(
    private readonly keyUsage: KeyUsageService,
    private readonly database: DatabaseService,
    private readonly health: HealthIndicatorService,
  ) {}

  async areStoredKeysConfigured(): Promise<HealthIndicatorResult> {
    const check = this.health.check('keys');
    let usage: MissingKeys;
    try {
      usage = await this.keyUsage.missingKeys();
    } catch (error) {
      const reason =
        this.database.unavailableReason ?? (error as Error).message;
      return check.down({
        message: `Cannot read the stored key ids: ${reason}`,
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
