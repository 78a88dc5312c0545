import { Inject, Injectable } from '@nestjs/common';
import type { ConnectionDto } from '@keeper/contracts';
import { AuditService } from '../audit/audit.service';
import { NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isLive, servableAsIs } from '../connections/connection-rules';
import { toConnectionDto } from '../connections/connection.mapper';
import { ConnectionsRepository } from '../connections/connections.repository';
import { ProfileReader } from './profile-reader';
import { RefreshPause } from './refresh-pause';
import {
  ConnectionNotRefreshableError,
  RefreshBackoffError,
  RefreshBusyError,
  RefreshPausedError,
} from './refresh.errors';
import { RefreshService } from './refresh.service';

/**
 * The admin's "refresh profiles": reads what Amazon lets a connection reach now (README, "What
 * the service does on its own"), with a valid token (refreshed first when due, through the same
 * refresh as a job's), audited as `profiles_read` with the counts.
 */
@Injectable()
export class ProfilesRefreshService {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly profiles: ProfileReader,
    private readonly refresh: RefreshService,
    private readonly pause: RefreshPause,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async readByAdmin(id: string, correlationId: string): Promise<ConnectionDto> {
    await this.ensureValidToken(id, correlationId);
    const connection = await this.profiles.rereadOrThrow(id, correlationId, {
      notWithinMs: 0,
    });
    if (!connection) throw new NotFoundError(`There is no connection ${id}.`);
    const lost = connection.profiles.filter((profile) => profile.lostAt);
    await this.audit.record({
      type: 'profiles_read',
      actor: 'admin',
      connectionId: id,
      correlationId,
      details: {
        profiles: connection.profiles.length - lost.length,
        lost: lost.length,
        dspAdvertisers: connection.dspAdvertisers.length,
      },
    });
    return toConnectionDto(connection, this.config.refresh.windowSeconds);
  }

  /**
   * The read uses the stored token; one that is due is refreshed first, as for a job (once
   * however many callers, the backoff obeyed). When no valid token comes of it, the reason.
   */
  private async ensureValidToken(
    id: string,
    correlationId: string,
  ): Promise<void> {
    const stored = await this.connections.findPublic(id);
    if (!stored) throw new NotFoundError(`There is no connection ${id}.`);
    if (!isLive(stored.status))
      throw new ConnectionNotRefreshableError(stored.status);
    const windowSeconds = this.config.refresh.windowSeconds;
    const timing = {
      id: stored.id,
      expiresAt: stored.accessTokenExpiresAt,
      lastRefreshedAt: stored.lastRefreshedAt,
    };
    if (servableAsIs(timing, windowSeconds)) return;
    const outcome = await this.refresh.refreshNow(
      id,
      'on_demand',
      correlationId,
    );
    const after = await this.connections.findPublic(id);
    if (!after) throw new NotFoundError(`There is no connection ${id}.`);
    if (!isLive(after.status))
      throw new ConnectionNotRefreshableError(after.status);
    if ((after.accessTokenExpiresAt?.getTime() ?? 0) > Date.now()) return;
    if (outcome.kind === 'failed') throw outcome.error;
    if (this.pause.reason) throw new RefreshPausedError(this.pause.reason);
    if (after.nextAttemptAt && after.nextAttemptAt.getTime() > Date.now())
      throw new RefreshBackoffError(after.nextAttemptAt);
    throw new RefreshBusyError();
  }
}
