import {
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Database } from '../database/database';
import { OAuthStateEntity } from './oauth-state.entity';

/** How often expired consent states are deleted (and once at start). */
export const STATE_CLEANUP_INTERVAL_MS = 10 * 60_000;

/**
 * Deletes consent states an hour past their expiry: a pending state lives 10 minutes, so older
 * ones are only clutter. Runs at start and then every {@link STATE_CLEANUP_INTERVAL_MS} on
 * every replica (the DELETE is idempotent); a failure (the database away) is logged and the next
 * run tries again.
 */
@Injectable()
export class OAuthStateCleanup
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(OAuthStateCleanup.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly database: Database) {}

  onApplicationBootstrap(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), STATE_CLEANUP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Deletes the expired states; never throws. */
  async run(): Promise<void> {
    try {
      await this.database
        .repository(OAuthStateEntity)
        .createQueryBuilder()
        .delete()
        .where("expires_at < now() - interval '1 hour'")
        .execute();
    } catch (error) {
      this.logger.warn(
        { err: error },
        'Deleting expired consent states failed; the next run tries again',
      );
    }
  }
}
