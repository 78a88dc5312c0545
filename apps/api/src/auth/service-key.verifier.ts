import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { Database } from '../database/database';
import { DATABASE_TARGET } from '../database/database.tokens';
import type { DatabaseTarget } from '../database/data-source-options';
import { NotificationListener } from '../database/notification-listener';
import { generatedSecret } from './development-secrets';
import { ServiceKeyCaller, ServiceKeyIndex } from './service-key-index';

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

/** How often every replica reads the active keys again, whatever it heard (a safety net). */
export const SERVICE_KEYS_RELOAD_INTERVAL_MS = 30_000;
/** How often the keys' `last_used_at` is written: at most once per key and replica in this time. */
export const LAST_USED_FLUSH_INTERVAL_MS = 60_000;

/** The NOTIFY channel of "the service keys changed", per schema like the audit's. */
export function serviceKeysChannel(schema: string | undefined): string {
  return schema ? `atk_service_keys_${schema}` : 'atk_service_keys';
}

interface ActiveKeyRow {
  id: string;
  key_hash: Buffer;
  connection_ids: string[] | null;
}

/**
 * Checks the bearer keys downstream jobs present, without a query on the hot path: an
 * in-memory {@link ServiceKeyIndex} of the `SERVICE_API_KEYS` and the stored active keys. The
 * stored keys are read at start, again at every NOTIFY on {@link serviceKeysChannel} (sent in
 * the transaction that creates or revokes a key, so every replica hears it within
 * milliseconds of the commit), again whenever the listening connection is re-established
 * (notifications sent meanwhile are lost), and every {@link SERVICE_KEYS_RELOAD_INTERVAL_MS}
 * as a safety net.
 *
 * A stored key's use is noted in memory and written in one statement for all keys every
 * {@link LAST_USED_FLUSH_INTERVAL_MS} and at shutdown: never a write per call.
 */
@Injectable()
export class ServiceKeyVerifier
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(ServiceKeyVerifier.name);
  readonly index: ServiceKeyIndex;
  private readonly listener: NotificationListener;
  private reloadTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  /** Stored keys used since the last flush, with the time (ms) of their latest use. */
  private used = new Map<string, number>();

  constructor(
    @Inject(SERVICE_KEYS) serviceKeys: ServiceKeys,
    private readonly database: Database,
    @Inject(DATABASE_TARGET) private readonly target: DatabaseTarget,
  ) {
    this.index = new ServiceKeyIndex(serviceKeys.keys);
    this.listener = new NotificationListener({
      target,
      channel: serviceKeysChannel(target.schema),
      onNotification: () => void this.reload(),
      onListening: () => void this.reload(),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.listener.start();
    this.reloadTimer = setInterval(
      () => void this.reload(),
      SERVICE_KEYS_RELOAD_INTERVAL_MS,
    );
    this.reloadTimer.unref();
    this.flushTimer = setInterval(
      () => void this.flushLastUsed(),
      LAST_USED_FLUSH_INTERVAL_MS,
    );
    this.flushTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reloadTimer);
    clearInterval(this.flushTimer);
    await this.listener.stop();
    await this.flushLastUsed();
  }

  /** The caller of an `Authorization: Bearer …` header, or undefined; notes a stored key's use. */
  callerFor(authorization: string | undefined): ServiceKeyCaller | undefined {
    const caller = this.index.callerFor(authorization);
    if (caller?.source === 'stored') this.used.set(caller.id, Date.now());
    return caller;
  }

  /** The id of the key in an `Authorization: Bearer …` header, or undefined. */
  keyIdFor(authorization: string | undefined): string | undefined {
    return this.callerFor(authorization)?.id;
  }

  /**
   * Reads the active stored keys again. Calls while a read runs are served by one more read
   * after it (a change committed during the read may not be in it).
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.readActiveKeys();
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Writes the uses noted since the last flush; answers how many keys' rows it updated. */
  async flushLastUsed(): Promise<number> {
    if (this.used.size === 0) return 0;
    const used = this.used;
    this.used = new Map();
    const ids = [...used.keys()];
    try {
      const updated: unknown = await this.database.dataSource.query(
        `UPDATE service_keys AS k SET last_used_at = GREATEST(k.last_used_at, u.used_at)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS u (id, used_at)
          WHERE k.id = u.id`,
        [ids, ids.map((id) => new Date(used.get(id) ?? Date.now()))],
      );
      return Array.isArray(updated) ? Number(updated[1] ?? 0) : 0;
    } catch (error) {
      // Kept for the next flush unless a newer use replaced it meanwhile.
      for (const [id, at] of used)
        if (!this.used.has(id)) this.used.set(id, at);
      this.logger.warn(
        { err: error },
        "Could not write the service keys' last use; trying again at the next flush",
      );
      return 0;
    }
  }

  private async readActiveKeys(): Promise<void> {
    try {
      const rows: ActiveKeyRow[] = await this.database.dataSource.query(
        'SELECT id, key_hash, connection_ids FROM service_keys WHERE revoked_at IS NULL',
      );
      this.index.replaceStored(
        rows.map((row) => ({
          id: row.id,
          keyHash: row.key_hash,
          connectionIds: row.connection_ids,
        })),
      );
    } catch (error) {
      // The keys read last stay in force; the next notification or interval reads again.
      this.logger.warn(
        { err: error },
        'Could not read the service keys; the keys read before stay in force',
      );
    }
  }
}
