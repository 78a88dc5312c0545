import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuditEventType } from '@keeper/contracts';
import { hostname } from 'node:os';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LwaClient, LwaTokenSet } from '../amazon/lwa.client';
import {
  LwaError,
  LwaInvalidClientError,
  LwaInvalidGrantError,
} from '../amazon/lwa.errors';
import { AuditService } from '../audit/audit.service';
import { lockAccounts, mergeTwins } from '../auth/connection-twins';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DatabaseService } from '../database/database.service';
import { ConnectionEntity } from '../token/connection.entity';
import { AmazonOutage } from './amazon-outage';
import { nextAttemptDelayMs } from './refresh-backoff';
import { RefreshPause } from './refresh-pause';
import {
  dueAtMs,
  dueSql,
  INTERVAL_PASSED_SQL,
  intervalPassed,
  RETRY_DUE_SQL,
  servableAsIs,
} from './refresh-policy';
import {
  ConnectionNotRefreshableError,
  RefreshBusyError,
} from './refresh.errors';

/** One attempt (all its retries) must end within this; an Amazon outage then waits for the next. */
export const ATTEMPT_DEADLINE_MS = 30_000;
/**
 * A claimed row stays ours this long: three times an attempt's deadline (itself three times the
 * HTTP timeout), so a live replica never loses a lease mid-attempt and a dead one's rows come
 * back within two minutes.
 */
export const LEASE_MS = 3 * ATTEMPT_DEADLINE_MS;

export type RefreshTrigger = 'scheduler' | 'manual' | 'on_demand';

export type RefreshOutcome =
  | { kind: 'refreshed'; connection: ConnectionEntity; durationMs: number }
  /** No refresh was needed (another caller or replica just refreshed): the row as it is now. */
  | { kind: 'current'; connection: ConnectionEntity }
  | { kind: 'failed'; error: LwaError; durationMs: number }
  | { kind: 'skipped'; reason: string };

export interface RefreshObserver {
  /** Called once per attempt (after its retries) with how it ended. */
  attemptFinished(
    outcome: RefreshOutcome['kind'] | 'needs_reauth' | 'client_error',
    durationMs: number,
  ): void;
  /** A connection changed state in a way an operator wants to hear about. */
  connectionAlert(alert: {
    type: 'refresh_failed' | 'needs_reauth' | 'recovered';
    connection: ConnectionEntity;
    message: string;
    correlationId: string;
  }): void;
}

/** TypeORM answers `[rows, rowCount]` for UPDATE … RETURNING and `rows` for a SELECT. */
function returnedRows<Row>(result: unknown): Row[] {
  return Array.isArray(result) && Array.isArray(result[0])
    ? (result[0] as Row[])
    : (result as Row[]);
}

const ACTOR: Record<RefreshTrigger, string> = {
  scheduler: 'scheduler',
  manual: 'admin',
  on_demand: 'service',
};

/**
 * Refreshes access tokens, once per connection however many replicas and callers ask.
 *
 * Claiming sets `lease_owner`/`lease_expires_at` in one statement (`FOR UPDATE SKIP LOCKED`
 * picks the rows), so replicas never claim the same row. The row is then read again (it may
 * have been refreshed between the sweep's query and the claim) and refreshed; the new tokens,
 * the expiry and the audit event are written in one transaction guarded by the lease, so a
 * missing audit row leaves nothing changed.
 *
 * A crash between Amazon's answer and the commit costs that answer: the row keeps the old
 * tokens and is retried when the lease expires. With Amazon's non-rotating refresh tokens that
 * retry simply works; if refresh tokens rotated, the old one would then be refused and the
 * connection would need a new consent. The window is one UPDATE long.
 */
@Injectable()
export class RefreshService {
  private readonly logger = new Logger(RefreshService.name);
  /** This replica's name on the leases it holds. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private observer: RefreshObserver | undefined;
  /**
   * Rows whose refresh failed on a database error, so their lease could not be given back: given
   * back at the next sweep, once the database answers (else they waited out the 90 s lease).
   */
  private readonly leftLeases = new Set<string>();

  constructor(
    private readonly database: DatabaseService,
    private readonly lwa: LwaClient,
    private readonly audit: AuditService,
    private readonly pause: RefreshPause,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outage: AmazonOutage,
  ) {}

  observe(observer: RefreshObserver): void {
    this.observer = observer;
  }

  /**
   * Claims up to `limit` live connections whose token is due (see refresh-policy.ts), whose last
   * refresh is at least the minimum interval back and whose retry is due; none of `exclude`
   * (the rows this sweep has attempted already).
   */
  async claimDue(
    limit: number,
    exclude: readonly string[] = [],
  ): Promise<string[]> {
    const result: unknown = await this.database.dataSource.query(
      `WITH due AS (
         SELECT id FROM connections
         WHERE status IN ('active', 'degraded')
           AND ${dueSql('$1')}
           AND ${INTERVAL_PASSED_SQL}
           AND ${RETRY_DUE_SQL}
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
           AND NOT (id = ANY($5::uuid[]))
         ORDER BY access_token_expires_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE connections AS c
       SET lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4)
       FROM due WHERE c.id = due.id
       RETURNING c.id`,
      [
        this.config.refresh.windowSeconds,
        limit,
        this.owner,
        LEASE_MS / 1000,
        [...exclude],
      ],
    );
    return returnedRows<{ id: string }>(result).map((row) => row.id);
  }

  /** Amazon seems down (see AmazonOutage): the sweep may probe with one waiting connection. */
  get amazonSeemsDown(): boolean {
    return this.outage.seemsDown;
  }

  /** While Amazon seems down: claims the degraded connection whose retry comes first, as a probe. */
  async claimOutageProbe(): Promise<string[]> {
    const result: unknown = await this.database.dataSource.query(
      `WITH probe AS (
         SELECT id FROM connections
         WHERE status = 'degraded' AND next_attempt_at > now()
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
         ORDER BY next_attempt_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE connections AS c
       SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
       FROM probe WHERE c.id = probe.id
       RETURNING c.id`,
      [this.owner, LEASE_MS / 1000],
    );
    return returnedRows<{ id: string }>(result).map((row) => row.id);
  }

  /**
   * Refreshes one connection now, or answers why not.
   *
   * - `manual` (the admin's "Refresh now"): whatever the expiry and the minimum interval: an
   *   explicit click, audited, one at a time per connection.
   * - `on_demand` (a job asking for a token): only when the token is due, the minimum interval
   *   has passed and a failed connection's backoff is over (refresh-policy.ts), in the same
   *   statement that claims the lease; otherwise the current row (`current`), which another
   *   caller or replica has just refreshed.
   * - `rejectedAccessToken` (Amazon answered 401 to that token): refreshes despite the interval,
   *   but only while the row still holds that very token; once another caller has replaced it,
   *   the current row.
   *
   * When another replica (or caller) holds the lease, waits for it to finish and answers its
   * result, so every caller gets the token that refresh stored.
   */
  async refreshNow(
    id: string,
    trigger: Exclude<RefreshTrigger, 'scheduler'>,
    correlationId: string,
    options: { rejectedAccessToken?: string } = {},
  ): Promise<RefreshOutcome> {
    const connection = await this.database
      .repository(ConnectionEntity)
      .findOneBy({ id });
    if (!connection) return { kind: 'skipped', reason: 'not found' };
    if (connection.status !== 'active' && connection.status !== 'degraded') {
      throw new ConnectionNotRefreshableError(connection.status);
    }
    // Amazon rejected our client credentials: a job's call would fail the same way, so it waits
    // for the sweep's probe like everything else (the admin's click may still try, once).
    if (trigger === 'on_demand' && this.pause.isHolding)
      return { kind: 'skipped', reason: 'refreshes paused' };
    const checked = trigger === 'on_demand' && !options.rejectedAccessToken;
    const claimed = returnedRows<{ id: string }>(
      await this.database.dataSource.query(
        `UPDATE connections SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3)
       WHERE id = $1 AND status IN ('active', 'degraded')
         AND (lease_expires_at IS NULL OR lease_expires_at < now())
         ${checked ? `AND ${dueSql('$4')} AND ${INTERVAL_PASSED_SQL} AND ${RETRY_DUE_SQL}` : ''}
       RETURNING id`,
        checked
          ? [id, this.owner, LEASE_MS / 1000, this.config.refresh.windowSeconds]
          : [id, this.owner, LEASE_MS / 1000],
      ),
    );
    if (claimed.length === 1)
      return this.refreshClaimed(id, trigger, correlationId, {
        force: true,
        onlyIfAccessToken: options.rejectedAccessToken,
      });
    return this.awaitOtherHolder(id, connection.lastRefreshedAt);
  }

  /** Refreshes a connection this replica has claimed, and releases it. */
  async refreshClaimed(
    id: string,
    trigger: RefreshTrigger,
    correlationId: string,
    options: { force?: boolean; onlyIfAccessToken?: string } = {},
  ): Promise<RefreshOutcome> {
    try {
      return await this.refreshLeased(id, trigger, correlationId, options);
    } catch (error) {
      // The database went away mid-refresh (nothing was stored): give the lease back later.
      this.leftLeases.add(id);
      throw error;
    }
  }

  private async refreshLeased(
    id: string,
    trigger: RefreshTrigger,
    correlationId: string,
    options: { force?: boolean; onlyIfAccessToken?: string },
  ): Promise<RefreshOutcome> {
    const connections = this.database.repository(ConnectionEntity);
    const connection = await connections.findOneBy({
      id,
      leaseOwner: this.owner,
    });
    if (!connection) return { kind: 'skipped', reason: 'lease lost' };
    const live =
      connection.status === 'active' || connection.status === 'degraded';
    if (
      live &&
      options.onlyIfAccessToken !== undefined &&
      !sameSecret(connection.accessToken, options.onlyIfAccessToken)
    ) {
      // The token Amazon refused has been replaced already: the new one is the answer.
      await this.release(id);
      return { kind: 'current', connection };
    }
    const timing = {
      expiresAt: connection.accessTokenExpiresAt,
      lastRefreshedAt: connection.lastRefreshedAt,
    };
    const due =
      dueAtMs(timing, this.config.refresh.windowSeconds) <= Date.now() &&
      intervalPassed(timing);
    if (!live || !connection.refreshToken || (!options.force && !due)) {
      await this.release(id);
      return {
        kind: 'skipped',
        reason: live ? 'no longer due' : `status ${connection.status}`,
      };
    }

    const started = performance.now();
    let tokens: LwaTokenSet;
    try {
      tokens = await this.lwa.refresh(
        connection.region,
        connection.refreshToken,
        {
          maxRetries: this.config.refresh.maxRetries,
          signal: AbortSignal.timeout(ATTEMPT_DEADLINE_MS),
        },
      );
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      if (!(error instanceof LwaError)) {
        await this.release(id);
        throw error;
      }
      await this.recordFailure(
        connection,
        error,
        trigger,
        correlationId,
        durationMs,
      );
      return { kind: 'failed', error, durationMs };
    }
    const durationMs = Math.round(performance.now() - started);
    const refreshed = await this.storeTokens(
      connection,
      tokens,
      trigger,
      correlationId,
      durationMs,
    );
    if (this.outage.succeeded(connection.id))
      await this.resumeAfterOutage(correlationId);
    if (refreshed.profilesStale)
      await this.refetchProfiles(refreshed, correlationId);
    this.pause.resume();
    this.observer?.attemptFinished('refreshed', durationMs);
    if (connection.status === 'degraded') {
      this.observer?.connectionAlert({
        type: 'recovered',
        connection: refreshed,
        message: `${connection.label} refreshes again after ${connection.failureCount} failed attempt(s).`,
        correlationId,
      });
    }
    return { kind: 'refreshed', connection: refreshed, durationMs };
  }

  /** Gives back every lease this replica holds (at shutdown). */
  async releaseAll(): Promise<void> {
    await this.database.dataSource.query(
      'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1',
      [this.owner],
    );
  }

  /**
   * Profiles that could not be read at connect time are read with the fresh token; best effort.
   * A live twin of the same account (a reconnect saved without profiles) is merged in the same
   * transaction (see connection-twins.ts): the oldest row stays, with these newest tokens.
   */
  /**
   * Connections whose profiles could not be read at consent are read again at every sweep with
   * their current token (not only after their next refresh, up to an hour later): until then a
   * reconnect's twin cannot be merged, and jobs using the older connection's id get 409. At most
   * `limit` per sweep, a profiles call each (no token request); best effort.
   */
  async refetchStaleProfiles(correlationId: string, limit = 20): Promise<void> {
    const rows: { id: string }[] = await this.database.dataSource.query(
      `SELECT id FROM connections
        WHERE profiles_stale AND status IN ('active', 'degraded')
          AND access_token_expires_at > now()
          AND (lease_expires_at IS NULL OR lease_expires_at < now())
        ORDER BY updated_at
        LIMIT $1`,
      [limit],
    );
    for (const { id } of rows) {
      const connection = await this.database
        .repository(ConnectionEntity)
        .findOneBy({ id });
      if (connection?.profilesStale && connection.accessToken)
        await this.refetchProfiles(connection, correlationId);
    }
  }

  private async refetchProfiles(
    connection: ConnectionEntity,
    correlationId: string,
  ): Promise<void> {
    try {
      const profiles = await this.lwa.listProfiles(
        connection.region,
        connection.accessToken as string,
        { maxRetries: 0 },
      );
      const amazonAccountIds = [
        ...new Set(profiles.map((profile) => profile.accountId)),
      ].sort();
      const merged = await this.database.dataSource.transaction(
        async (manager) => {
          await lockAccounts(manager, connection.region, amazonAccountIds);
          await manager
            .getRepository(ConnectionEntity)
            .update(
              { id: connection.id },
              { profiles, amazonAccountIds, profilesStale: false },
            );
          const input = {
            connectionId: connection.id,
            region: connection.region,
            accountIds: amazonAccountIds,
            actor: 'system',
            correlationId,
          };
          return mergeTwins(manager, this.audit, input);
        },
      );
      Object.assign(connection, {
        profiles,
        amazonAccountIds,
        profilesStale: false,
      });
      if (merged) {
        this.logger.log(
          {
            correlationId,
            survivorId: merged.survivorId,
            closedIds: merged.closedIds,
          },
          'Merged twin connections of one account',
        );
        if (merged.survivorId !== connection.id)
          Object.assign(connection, {
            status: 'disconnected',
            disconnectedAt: new Date(),
          });
      }
    } catch (error) {
      if (!(error instanceof LwaError)) throw error;
      this.logger.warn(
        { correlationId, connectionId: connection.id, kind: error.kind },
        'Reading the Ads profiles failed again',
      );
    }
  }

  /** Gives back one claim without refreshing (the sweep is paused). */
  releaseClaim(id: string): Promise<void> {
    return this.release(id);
  }

  /** Amazon answers again after an outage: every connection waiting out its backoff is due now. */
  private async resumeAfterOutage(correlationId: string): Promise<void> {
    const result: unknown = await this.database.dataSource.query(
      `UPDATE connections SET next_attempt_at = now()
       WHERE status = 'degraded' AND next_attempt_at > now()
       RETURNING id`,
    );
    const count = returnedRows<{ id: string }>(result).length;
    if (count > 0)
      this.logger.log(
        { correlationId, connections: count },
        'Amazon answers again: the connections waiting on it are due now',
      );
  }

  /** Gives back the leases of refreshes that failed on a database error (once per sweep). */
  async releaseLeftLeases(): Promise<void> {
    if (this.leftLeases.size === 0) return;
    const ids = [...this.leftLeases];
    await this.database.dataSource.query(
      'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($1::uuid[]) AND lease_owner = $2',
      [ids, this.owner],
    );
    for (const id of ids) this.leftLeases.delete(id);
  }

  private async release(id: string): Promise<void> {
    await this.database.dataSource.query(
      'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2',
      [id, this.owner],
    );
  }

  private async storeTokens(
    connection: ConnectionEntity,
    tokens: LwaTokenSet,
    trigger: RefreshTrigger,
    correlationId: string,
    durationMs: number,
  ): Promise<ConnectionEntity> {
    const now = new Date();
    const changes: Partial<ConnectionEntity> = {
      accessToken: tokens.accessToken,
      // Amazon may or may not send a refresh token; without one, the old one stays valid.
      refreshToken: tokens.refreshToken ?? connection.refreshToken,
      accessTokenExpiresAt: new Date(
        now.getTime() + tokens.expiresInSeconds * 1000,
      ),
      lastRefreshedAt: now,
      status: 'active',
      failureCount: 0,
      lastError: null,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
    };
    await this.database.dataSource.transaction(async (manager) => {
      const result = await manager
        .getRepository(ConnectionEntity)
        .update({ id: connection.id, leaseOwner: this.owner }, changes);
      if (result.affected !== 1) throw new RefreshBusyError();
      const events: AuditEventType[] = [
        trigger === 'manual' ? 'manual_refresh' : 'refreshed',
      ];
      if (connection.status === 'degraded') events.push('recovered');
      for (const type of events) {
        await this.audit.record(
          {
            type,
            actor: ACTOR[trigger],
            connectionId: connection.id,
            correlationId,
            details: {
              durationMs,
              expiresInSeconds: tokens.expiresInSeconds,
              refreshTokenRotated: tokens.refreshToken !== undefined,
            },
          },
          manager,
        );
      }
    });
    this.logger.log(
      {
        correlationId,
        connectionId: connection.id,
        outcome: 'refreshed',
        durationMs,
        trigger,
      },
      'Access token refreshed',
    );
    return Object.assign(connection, changes);
  }

  private async recordFailure(
    connection: ConnectionEntity,
    error: LwaError,
    trigger: RefreshTrigger,
    correlationId: string,
    durationMs: number,
  ): Promise<void> {
    const log = {
      correlationId,
      connectionId: connection.id,
      outcome: error.kind,
      durationMs,
      trigger,
    };
    if (error instanceof LwaInvalidClientError) {
      // Our client id or secret is wrong: no connection is to blame, so none is marked.
      this.pause.pauseFor(
        `Amazon rejected our client credentials (${error.kind}); check AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET.`,
      );
      await this.release(connection.id);
      this.logger.error(
        log,
        'Refreshes paused: Amazon rejected the client credentials',
      );
      this.observer?.attemptFinished('client_error', durationMs);
      return;
    }
    const needsReauth = error instanceof LwaInvalidGrantError;
    const failureCount = connection.failureCount + 1;
    const delayMs = nextAttemptDelayMs(failureCount, error.retryAfterMs);
    const changes: Partial<ConnectionEntity> = {
      status: needsReauth ? 'needs_reauth' : 'degraded',
      failureCount,
      lastError: error.message,
      nextAttemptAt: needsReauth ? null : new Date(Date.now() + delayMs),
      leaseOwner: null,
      // A Retry-After holds the row like a lease nobody owns: no replica claims it before then,
      // even once the end of an outage makes it due again (resumeAfterOutage).
      leaseExpiresAt: error.retryAfterMs
        ? new Date(Date.now() + error.retryAfterMs)
        : null,
    };
    await this.database.dataSource.transaction(async (manager) => {
      const result = await manager
        .getRepository(ConnectionEntity)
        .update({ id: connection.id, leaseOwner: this.owner }, changes);
      if (result.affected !== 1) return;
      await this.audit.record(
        {
          type: needsReauth ? 'needs_reauth' : 'refresh_failed',
          actor: ACTOR[trigger],
          connectionId: connection.id,
          correlationId,
          details: {
            kind: error.kind,
            message: error.message,
            failureCount,
            durationMs,
            ...(needsReauth
              ? {}
              : { retryInSeconds: Math.round(delayMs / 1000) }),
          },
        },
        manager,
      );
    });
    // Only once the row says "degraded": a success racing this failure must not end the outage
    // before the row can be made due again.
    if (!needsReauth) this.outage.failed(connection.id, error.kind);
    this.logger.warn(
      log,
      needsReauth
        ? 'Amazon refused the refresh token: a new consent is needed'
        : 'Refresh failed; will retry',
    );
    this.observer?.attemptFinished(
      needsReauth ? 'needs_reauth' : 'failed',
      durationMs,
    );
    this.observer?.connectionAlert({
      type: needsReauth ? 'needs_reauth' : 'refresh_failed',
      connection: Object.assign(connection, changes),
      message: needsReauth
        ? `${connection.label} needs a new consent: Amazon no longer accepts its refresh token.`
        : `${connection.label} could not be refreshed (${error.message}); next try in ${Math.round(delayMs / 1000)} s.`,
      correlationId,
    });
  }

  /**
   * The claim was refused: another replica (or caller) holds the row, or (for a job) the token is
   * not due or was refreshed within the minimum interval. Waits while a live lease is held (a
   * bounded time: one attempt's deadline), then answers the row as the holder left it.
   */
  private async awaitOtherHolder(
    id: string,
    before: Date | null,
  ): Promise<RefreshOutcome> {
    const deadline = Date.now() + ATTEMPT_DEADLINE_MS + 5_000;
    const connections = this.database.repository(ConnectionEntity);
    for (let wait = 0; Date.now() < deadline; wait = Math.min(100, wait + 20)) {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const current = await connections.findOneBy({ id });
      if (!current) return { kind: 'skipped', reason: 'not found' };
      if (
        current.leaseOwner &&
        (current.leaseExpiresAt?.getTime() ?? 0) >= Date.now()
      )
        continue;
      if (current.status !== 'active' && current.status !== 'degraded') {
        throw new ConnectionNotRefreshableError(current.status);
      }
      const refreshed =
        (current.lastRefreshedAt?.getTime() ?? 0) > (before?.getTime() ?? 0);
      if (refreshed) return { kind: 'current', connection: current };
      const timing = {
        expiresAt: current.accessTokenExpiresAt,
        lastRefreshedAt: current.lastRefreshedAt,
      };
      if (
        current.accessToken &&
        servableAsIs(timing, this.config.refresh.windowSeconds)
      ) {
        return { kind: 'current', connection: current };
      }
      return { kind: 'skipped', reason: 'the other attempt failed' };
    }
    throw new RefreshBusyError();
  }
}

/** Compares two secrets in constant time (their digests, so the lengths may differ). */
function sameSecret(stored: string | null, presented: string): boolean {
  if (stored === null) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(stored), digest(presented));
}
