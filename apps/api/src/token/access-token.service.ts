import { Inject, Injectable } from '@nestjs/common';
import type { AccessTokenDto, ConnectionDto, RefreshResultDto } from '@keeper/contracts';
import { NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { columnKeyRing } from '../crypto/encrypted-column';
import { BatchedQuery } from '../database/batched-query';
import { DatabaseService } from '../database/database.service';
import { ConnectionNotRefreshableError, RefreshBusyError, RefreshPausedError } from '../refresh/refresh.errors';
import { RefreshPause } from '../refresh/refresh-pause';
import { RefreshOutcome, RefreshService } from '../refresh/refresh.service';
import { ConnectionEntity } from './connection.entity';
import { toConnectionDto } from './connection.mapper';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The columns of `connections` the fast path reads. */
interface StoredAccessToken {
  id: string;
  status: string;
  access_token_ciphertext: string | null;
  access_token_expires_at: Date | null;
}

/**
 * Hands access tokens to downstream jobs, refreshing first when the token expires within the
 * window. Callers asking for the same connection at once share one refresh: in this process
 * through `inFlight`, across replicas through the row's lease (see RefreshService.refreshNow).
 */
@Injectable()
export class AccessTokenService {
  private readonly inFlight = new Map<string, Promise<RefreshOutcome>>();
  private readonly tokenLookup = new BatchedQuery<string, StoredAccessToken | undefined>((ids) => this.lookUpTokens(ids));

  constructor(
    private readonly database: DatabaseService,
    private readonly refresh: RefreshService,
    private readonly pause: RefreshPause,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async accessToken(id: string, correlationId: string): Promise<AccessTokenDto> {
    const fresh = await this.freshAccessToken(id);
    if (fresh) return fresh;
    let connection = await this.find(id);
    if (this.isFresh(connection)) return this.toAccessToken(connection);
    if (connection.status !== 'active' && connection.status !== 'degraded') throw new ConnectionNotRefreshableError(connection.status);

    const outcome = await this.shared(id, () => this.refresh.refreshNow(id, 'on_demand', correlationId));
    if (outcome.kind === 'refreshed') return this.toAccessToken(outcome.connection);
    // The refresh failed: a token that is still valid is better than none.
    connection = await this.find(id);
    if (connection.accessToken && connection.accessTokenExpiresAt && connection.accessTokenExpiresAt.getTime() > Date.now()) {
      return this.toAccessToken(connection);
    }
    if (outcome.kind === 'failed') throw outcome.error;
    if (connection.status === 'needs_reauth' || connection.status === 'disconnected') {
      throw new ConnectionNotRefreshableError(connection.status);
    }
    if (this.pause.reason) throw new RefreshPausedError(this.pause.reason);
    throw new RefreshBusyError();
  }

  /** The admin's "refresh now": refreshes whatever the expiry and answers the result. */
  async refreshNow(id: string, correlationId: string): Promise<RefreshResultDto> {
    await this.find(id);
    const outcome = await this.shared(id, () => this.refresh.refreshNow(id, 'manual', correlationId));
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'skipped') {
      if (this.pause.reason) throw new RefreshPausedError(this.pause.reason);
      throw new RefreshBusyError();
    }
    return { connection: this.toDto(outcome.connection), durationMs: outcome.durationMs };
  }

  private shared(id: string, refresh: () => Promise<RefreshOutcome>): Promise<RefreshOutcome> {
    const existing = this.inFlight.get(id);
    if (existing) return existing;
    const started = refresh().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, started);
    return started;
  }

  /**
   * The common case, kept cheap: one plain SELECT of the columns it needs, shared by every
   * request of one turn of the event loop, and one decryption (the entity would decrypt the
   * refresh token too, and TypeORM's hydration cost more CPU than the query). Anything else
   * (unknown id, no token, due soon) takes the full path.
   */
  private async freshAccessToken(id: string): Promise<AccessTokenDto | undefined> {
    // One malformed id must not fail the statement of the whole batch.
    if (!UUID.test(id)) return undefined;
    const row = await this.tokenLookup.run(id);
    if (!row?.access_token_ciphertext || !this.isFreshState(row.status, row.access_token_expires_at)) return undefined;
    return {
      accessToken: columnKeyRing.current().decrypt(row.access_token_ciphertext),
      tokenType: 'bearer',
      expiresAt: (row.access_token_expires_at as Date).toISOString(),
    };
  }

  private async lookUpTokens(ids: readonly string[]): Promise<(StoredAccessToken | undefined)[]> {
    const rows: StoredAccessToken[] = await this.database.dataSource.query(
      'SELECT id, status, access_token_ciphertext, access_token_expires_at FROM connections WHERE id = ANY($1::uuid[])',
      [[...new Set(ids)]],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id.toLowerCase()));
  }

  private async find(id: string): Promise<ConnectionEntity> {
    const connection = await this.database.repository(ConnectionEntity).findOneBy({ id });
    if (!connection) throw new NotFoundError(`There is no connection ${id}.`);
    return connection;
  }

  private isFresh(connection: ConnectionEntity): boolean {
    return connection.accessToken !== null && this.isFreshState(connection.status, connection.accessTokenExpiresAt);
  }

  /** A token (when there is one) that outlives the refresh window of a connection still held. */
  private isFreshState(status: string, expiresAt: Date | null): boolean {
    return status !== 'disconnected' && (expiresAt?.getTime() ?? 0) > Date.now() + this.config.refresh.windowSeconds * 1000;
  }

  private toAccessToken(connection: ConnectionEntity): AccessTokenDto {
    return {
      accessToken: connection.accessToken as string,
      tokenType: 'bearer',
      expiresAt: (connection.accessTokenExpiresAt as Date).toISOString(),
    };
  }

  private toDto(connection: ConnectionEntity): ConnectionDto {
    return toConnectionDto(connection, this.config.refresh.windowSeconds);
  }
}
