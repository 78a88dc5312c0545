import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SecretDigest } from './secret-digest';

/**
 * Checks the bearer keys downstream jobs present (`SERVICE_API_KEYS`). Every configured key is
 * compared, in constant time, whatever matched first; a key is named in audits and logs only
 * by its id (a short hash).
 */
@Injectable()
export class ServiceKeyVerifier {
  private readonly digest = new SecretDigest(
    randomBytes(32).toString('hex'),
    'service-keys',
  );
  private readonly keys: { id: string; digest: Buffer }[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.keys = config.serviceApiKeys.map((key) => ({
      id: createHash('sha256').update(key).digest('hex').slice(0, 8),
      digest: this.digest.digest(key),
    }));
  }

  /** The id of the key in an `Authorization: Bearer …` header, or undefined. */
  keyIdFor(authorization: string | undefined): string | undefined {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
    if (!match || this.keys.length === 0) return undefined;
    const presented = this.digest.digest(match[1]);
    let found: string | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(presented, key.digest) && found === undefined)
        found = key.id;
    }
    return found;
  }
}
