import { Inject, Injectable } from '@nestjs/common';
import type { AccessTokenDto } from '@keeper/contracts';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isLive, servableAsIs } from '../connections/connection-rules';
import { ConnectionEntity } from '../connections/connection.entity';
import {
  ConnectionsRepository,
  StoredAccessToken,
} from '../connections/connections.repository';
import { KeyRing } from '../crypto/key-ring';
import { BatchedQuery } from '../database/batched-query';
import {
  ConnectionNotRefreshableError,
  RefreshBackoffError,
  RefreshBusyError,
  RefreshPausedError,
} from '../refresh/refresh.errors';
import { RefreshPause } from '../refresh/refresh-pause';
import { RefreshOutcome, RefreshService } from '../refresh/refresh.service';
import { OpenedTokens } from './opened-tokens';
import { unknownConnection } from './unknown-connection';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Hands access tokens to downstream jobs, refreshing first when the token is due (see
 * connection-rules.ts: within the window, and not within the minimum interval of the last
 * refresh). Callers asking for the same connection at once share one refresh
 * (`RefreshService.refreshNow`), and every one of them gets the token that refresh stored. A
 * connection that needs a new consent (or was disconnected) answers 409 at once, never its old
 * token.
 */
@Injectable()
export class AccessTokenService {
  private readonly tokenLookup = new BatchedQuery<
    string,
    StoredAccessToken | undefined
  >((ids) => this.lookUpTokens(ids));
  private readonly opened = new OpenedTokens();

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly keyRing: KeyRing,
    private readonly refresh: RefreshService,
    private readonly pause: RefreshPause,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `actor` names the caller in a refresh's audit: `service:<key id>`. */
  async accessToken(
    id: string,
    correlationId: string,
    actor?: string,
  ): Promise<AccessTokenDto> {
    const fresh = await this.freshAccessToken(id);
    if (fresh) return fresh;
    const connection = await this.find(id);
    if (!isLive(connection.status))
      throw new ConnectionNotRefreshableError(connection.status);
    if (this.isFresh(connection)) return this.toAccessToken(connection);
    return this.refreshedToken(
      id,
      await this.refresh.refreshNow(id, 'on_demand', correlationId, { actor }),
    );
  }

  /**
   * For a caller that presented `rejectedAccessToken` to Amazon and got 401 (the Ads API proxy):
   * refreshes despite the minimum interval, but only while the connection still holds that
   * token; when another caller has replaced it already, answers the new one without a refresh.
   */
  async accessTokenAfterUnauthorized(
    id: string,
    rejectedAccessToken: string,
    correlationId: string,
    actor?: string,
  ): Promise<AccessTokenDto> {
    const connection = await this.find(id);
    if (!isLive(connection.status))
      throw new ConnectionNotRefreshableError(connection.status);
    return this.refreshedToken(
      id,
      await this.refresh.refreshNow(id, 'on_demand', correlationId, {
        rejectedAccessToken,
        actor,
      }),
    );
  }

  private async refreshedToken(
    id: string,
    outcome: RefreshOutcome,
  ): Promise<AccessTokenDto> {
    if (outcome.kind === 'refreshed' || outcome.kind === 'current') {
      if (
        outcome.connection.accessToken &&
        (outcome.connection.accessTokenExpiresAt?.getTime() ?? 0) > Date.now()
      ) {
        return this.toAccessToken(outcome.connection);
      }
    }
    const connection = await this.find(id);
    if (!isLive(connection.status))
      throw new ConnectionNotRefreshableError(connection.status);
    // The refresh failed (Amazon down): a token that is still valid is better than none.
    if (
      connection.accessToken &&
      connection.accessTokenExpiresAt &&
      connection.accessTokenExpiresAt.getTime() > Date.now()
    ) {
      return this.toAccessToken(connection);
    }
    if (outcome.kind === 'failed') throw outcome.error;
    if (this.pause.reason) throw new RefreshPausedError(this.pause.reason);
    if (
      connection.nextAttemptAt &&
      connection.nextAttemptAt.getTime() > Date.now()
    )
      throw new RefreshBackoffError(connection.nextAttemptAt);
    throw new RefreshBusyError();
  }

  /**
   * The common case, kept cheap: one plain SELECT of the columns it needs, shared by every
   * request of one turn of the event loop, and one decryption (the entity would decrypt the
   * refresh token too, and TypeORM's hydration cost more CPU than the query). Anything else
   * (unknown id, no token, due soon) takes the full path.
   */
  private async freshAccessToken(
    id: string,
  ): Promise<AccessTokenDto | undefined> {
    const row = await this.storedRow(id);
    return row && this.servableToken(row);
  }

  /**
   * The connection's row as the fast path reads it (status, region, profiles, the encrypted
   * token), shared by every caller of one turn of the event loop; undefined when unknown.
   * The Ads API proxy checks a call with it before asking for the token.
   */
  async storedRow(id: string): Promise<StoredAccessToken | undefined> {
    // One malformed id must not fail the statement of the whole batch.
    if (!UUID.test(id)) return undefined;
    return this.tokenLookup.run(id);
  }

  /** The row's token when it is to be handed out as it is (not due, see isFreshState). */
  servableToken(row: StoredAccessToken): AccessTokenDto | undefined {
    if (!row.access_token_ciphertext || !isLive(row.status)) {
      this.opened.forget(row.id);
      return undefined;
    }
    if (
      !this.isFreshState(
        row.id,
        row.status,
        row.access_token_expires_at,
        row.last_refreshed_at,
      )
    )
      return undefined;
    return {
      accessToken: this.opened.open(
        row.id,
        row.access_token_ciphertext,
        (ciphertext) => this.keyRing.decrypt(ciphertext),
      ),
      tokenType: 'bearer',
      expiresAt: (row.access_token_expires_at as Date).toISOString(),
    };
  }

  private async lookUpTokens(
    ids: readonly string[],
  ): Promise<(StoredAccessToken | undefined)[]> {
    const rows = await this.connections.storedAccessTokens(ids);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id.toLowerCase()));
  }

  private async find(id: string): Promise<ConnectionEntity> {
    const connection = await this.connections.find(id);
    if (!connection) throw unknownConnection(id);
    return connection;
  }

  private isFresh(connection: ConnectionEntity): boolean {
    return (
      connection.accessToken !== null &&
      this.isFreshState(
        connection.id,
        connection.status,
        connection.accessTokenExpiresAt,
        connection.lastRefreshedAt,
      )
    );
  }

  /**
   * A live connection whose token is to be handed out as it is: not due, or refreshed within the
   * minimum interval (connection-rules.ts). `needs_reauth` and `disconnected` never are: the full
   * path answers 409 for them.
   */
  private isFreshState(
    id: string,
    status: string,
    expiresAt: Date | null,
    lastRefreshedAt: Date | null,
  ): boolean {
    return (
      isLive(status) &&
      servableAsIs(
        { id, expiresAt, lastRefreshedAt },
        this.config.refresh.windowSeconds,
      )
    );
  }

  private toAccessToken(connection: ConnectionEntity): AccessTokenDto {
    return {
      accessToken: connection.accessToken as string,
      tokenType: 'bearer',
      expiresAt: (connection.accessTokenExpiresAt as Date).toISOString(),
    };
  }
}
