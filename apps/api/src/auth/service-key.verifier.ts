import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { generatedSecret } from './development-secrets';
import { SecretDigest } from './secret-digest';

/** The service keys jobs present, and where a development one came from. */
export interface ServiceKeys {
  keys: string[];
  /** Set when development generated the key (SERVICE_API_KEYS unset): printed by `main.ts`. */
  generatedFile: string | undefined;
}

/** Injection token of {@link ServiceKeys}. */
export const SERVICE_KEYS = Symbol('SERVICE_KEYS');

/**
 * `SERVICE_API_KEYS`. In development (`NODE_ENV` unset or `development`) without any, one is
 * generated once into the data folder, so `npm start` can show a job's call (the access token,
 * the Ads API proxy) at once; never in production or in tests.
 */
export async function resolveServiceKeys(
  config: Pick<AppConfig, 'serviceApiKeys' | 'dataDir' | 'nodeEnv'>,
): Promise<ServiceKeys> {
  if (config.serviceApiKeys.length > 0 || config.nodeEnv !== 'development')
    return { keys: config.serviceApiKeys, generatedFile: undefined };
  const generated = await generatedSecret(
    config.dataDir,
    'development-service-key',
    24,
  );
  return { keys: [generated.value], generatedFile: generated.file };
}

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

  constructor(@Inject(SERVICE_KEYS) serviceKeys: ServiceKeys) {
    this.keys = serviceKeys.keys.map((key) => ({
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
