import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuditEventType, RefreshResultDto } from '@keeper/contracts';
import { hostname } from 'node:os';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LwaClient, LwaTokenSet } from '../amazon/lwa.client';
import { LwaError, LwaInvalidClientError } from '../amazon/lwa.errors';
import { AuditService } from '../audit/audit.service';
import { NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  intervalPassed,
  isLive,
  MIN_REFRESH_INTERVAL_SECONDS,
  refreshableNow,
  servableAsIs,
} from '../connections/connection-rules';
import { ConnectionEntity } from '../connections/connection.entity';
import { toConnectionDto } from '../connections/connection.mapper';
import {
  ConnectionsRepository,
  Lease,
} from '../connections/connections.repository';
import { AmazonOutage } from './amazon-outage';
import { ProfileReader } from './profile-reader';
import { changesAfterSuccess, outcomeOfFailure } from './refresh-outcome';
import { RefreshPause } from './refresh-pause';
import {
  ConnectionNotRefreshableError,
  RefreshBusyError,
  RefreshPausedError,
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

/** Who an attempt's audit names; a job's call names its key instead (`service:<key id>`). */
const ACTOR: Record<RefreshTrigger, string> = {
  scheduler: 'scheduler',
  manual: 'admin',
  on_demand: 'service',
};

/**
 * Refreshes access tokens, once per connection however many replicas and callers ask: the one
 * place that says so. In this process, callers asking for the same connection at once share
 * one attempt (`inFlight`, which the sweep's attempts join too); across replicas, the row's
 * lease (`ConnectionsRepository.claim*`) lets one replica refresh while the others wait for
 * its result (`awaitOtherHolder`). The sweep, the admin's "Refresh now" and the access-token
 * path all come here.
 *
 * Claiming sets `lease_owner`/`lease_expires_at` in one statement (`FOR UPDATE SKIP LOCKED`
 * picks the rows), so replicas never claim the same row. The row is then read again (it may
 * have been refreshed between the sweep's query and the claim) and refreshed; the new tokens,
 * the expiry and the audit event are written in one statement guarded by the lease, so a
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
  /** The attempt in flight in this process, per connection (and per rejected token). */
  private readonly inFlight = new Map<
    string,
    { trigger: RefreshTrigger; attempt: Promise<RefreshOutcome> }
  >();
  private readonly unauthorizedRefreshes = new OncePerInterval(
    MIN_REFRESH_INTERVAL_SECONDS * 1000,
  );
  private readonly lease: Lease = {
    owner: this.owner,
    seconds: LEASE_MS / 1000,
  };

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly profiles: ProfileReader,
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
   * Claims up to `limit` connections the sweep should refresh now (see
   * `ConnectionsRepository.claimDue`); none of `exclude` (the rows this sweep attempted and did
   * not refresh) and none refreshed since `refreshedSince` (the sweep's start).
   */
  claimDue(
    limit: number,
    exclude: readonly string[] = [],
    refreshedSince?: Date,
  ): Promise<string[]> {
    return this.connections.claimDue(
      this.lease,
      limit,
      exclude,
      refreshedSince,
    );
  }

  /** Amazon seems down (see AmazonOutage): the sweep may probe with one waiting connection. */
  get amazonSeemsDown(): boolean {
    return this.outage.seemsDown;
  }

  /** While Amazon seems down: claims the degraded connection whose retry comes first, as a probe. */
  claimOutageProbe(): Promise<string[]> {
    return this.connections.claimOutageProbe(this.lease);
  }

  /**
   * Refreshes one connection now, or answers why not.
   *
   * - `manual` (the admin's "Refresh now"): whatever the expiry and the minimum interval: an
   *   explicit click, audited, one at a time per connection.
   * - `on_demand` (a job asking for a token): only when the token is due, the minimum interval
   *   has passed and a failed connection's backoff is over (connection-rules.ts), in the same
   *   statement that claims the lease; otherwise the current row (`current`), which another
   *   caller or replica has just refreshed.
   * - `rejectedAccessToken` (Amazon answered 401 to that token): refreshes despite the interval,
   *   but only while the row still holds that very token; once another caller has replaced it,
   *   the current row.
   *
   * A caller asking while this process already refreshes the connection gets that attempt's
   * outcome. When another replica (or caller) holds the lease, waits for it to finish and
   * answers its result, so every caller gets the token that refresh stored.
   */
  refreshNow(
    id: string,
    trigger: Exclude<RefreshTrigger, 'scheduler'>,
    correlationId: string,
    options: { rejectedAccessToken?: string; actor?: string } = {},
  ): Promise<RefreshOutcome> {
    const key = options.rejectedAccessToken === undefined ? id : `${id}:401`;
    const running = this.inFlight.get(key);
    if (!running)
      return this.track(
        key,
        trigger,
        this.claimAndRefresh(id, trigger, correlationId, options),
      );
    if (running.trigger !== 'scheduler') return running.attempt;
    // The sweep's attempt: a caller gets what it stored, or (when it failed or did nothing) the
    // row as it left it, exactly as when the attempt runs on another replica: a job then gets
    // the stored token while it is valid, else its backoff (503), never the sweep's error.
    return running.attempt.then((outcome) =>
      outcome.kind === 'refreshed'
        ? outcome
        : this.awaitOtherHolder(id, new Date()),
    );
  }

  private async claimAndRefresh(
    id: string,
    trigger: Exclude<RefreshTrigger, 'scheduler'>,
    correlationId: string,
    options: { rejectedAccessToken?: string; actor?: string },
  ): Promise<RefreshOutcome> {
    // The whole row: a secret the key ring cannot read fails here, before any lease is taken.
    const connection = await this.connections.find(id);
    if (!connection) return { kind: 'skipped', reason: 'not found' };
    if (!isLive(connection.status)) {
      throw new ConnectionNotRefreshableError(connection.status);
    }
    // Amazon rejected our client credentials: a job's call would fail the same way, so it waits
    // for the sweep's probe like everything else (the admin's click may still try, once).
    if (trigger === 'on_demand' && this.pause.isHolding)
      return { kind: 'skipped', reason: 'refreshes paused' };
    // A 401 may refresh despite the minimum interval, but once per interval and connection on
    // this replica: more 401s for a token that young are about the call (a scope, a lost
    // profile), not the token, and must not each cost a refresh (README, "Never too often").
    if (options.rejectedAccessToken !== undefined) {
      const recent = !intervalPassed({
        id: connection.id,
        expiresAt: connection.accessTokenExpiresAt,
        lastRefreshedAt: connection.lastRefreshedAt,
      });
      if (recent && !this.unauthorizedRefreshes.take(id))
        return { kind: 'current', connection };
    }
    const checked = trigger === 'on_demand' && !options.rejectedAccessToken;
    if (await this.connections.claim(id, this.lease, checked))
      return this.refreshLeasedOrLeave(id, trigger, correlationId, {
        force: true,
        onlyIfAccessToken: options.rejectedAccessToken,
        actor: options.actor,
      });
    return this.awaitOtherHolder(id, connection.lastRefreshedAt);
  }

  /** The admin's "Refresh now": refreshes whatever the expiry and answers the result. */
  async refreshByAdmin(
    id: string,
    correlationId: string,
  ): Promise<RefreshResultDto> {
    const outcome = await this.refreshNow(id, 'manual', correlationId);
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'skipped') {
      if (outcome.reason === 'not found')
        throw new NotFoundError(`There is no connection ${id}.`);
      if (this.pause.reason) throw new RefreshPausedError(this.pause.reason);
      throw new RefreshBusyError();
    }
    // `current`: another replica's refresh finished while this one waited for its lease.
    return {
      connection: toConnectionDto(
        outcome.connection,
        this.config.refresh.windowSeconds,
      ),
      durationMs: outcome.kind === 'refreshed' ? outcome.durationMs : 0,
    };
  }

  /**
   * Refreshes a connection this replica has claimed (the sweep's), and releases it. A caller of
   * {@link refreshNow} for the same connection meanwhile shares this attempt.
   */
  refreshClaimed(
    id: string,
    trigger: RefreshTrigger,
    correlationId: string,
  ): Promise<RefreshOutcome> {
    return this.track(
      id,
      trigger,
      this.refreshLeasedOrLeave(id, trigger, correlationId, {}),
    );
  }

  private track(
    key: string,
    trigger: RefreshTrigger,
    attempt: Promise<RefreshOutcome>,
  ): Promise<RefreshOutcome> {
    const tracked = attempt.finally(() => {
      if (this.inFlight.get(key)?.attempt === tracked)
        this.inFlight.delete(key);
    });
    this.inFlight.set(key, { trigger, attempt: tracked });
    return tracked;
  }

  /** Refreshes a leased row; a database error leaves the lease to give back at the next sweep. */
  private async refreshLeasedOrLeave(
    id: string,
    trigger: RefreshTrigger,
    correlationId: string,
    options: { force?: boolean; onlyIfAccessToken?: string; actor?: string },
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
    options: { force?: boolean; onlyIfAccessToken?: string; actor?: string },
  ): Promise<RefreshOutcome> {
    const connection = await this.connections.findLeased(id, this.owner);
    if (!connection) return { kind: 'skipped', reason: 'lease lost' };
    const live = isLive(connection.status);
    if (
      live &&
      options.onlyIfAccessToken !== undefined &&
      !sameSecret(connection.accessToken, options.onlyIfAccessToken)
    ) {
      // The token Amazon refused has been replaced already: the new one is the answer.
      await this.release(id);
      return { kind: 'current', connection };
    }
    const due = refreshableNow(
      {
        id: connection.id,
        expiresAt: connection.accessTokenExpiresAt,
        lastRefreshedAt: connection.lastRefreshedAt,
      },
      this.config.refresh.windowSeconds,
    );
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
          // The cap on token requests a second serves jobs and admins before the sweep.
          priority: trigger === 'scheduler' ? 'background' : 'interactive',
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
        options.actor,
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
      options.actor,
    );
    if (this.outage.succeeded(connection.id))
      await this.resumeAfterOutage(correlationId);
    if (refreshed.profilesStale)
      await this.profiles.read(refreshed, correlationId);
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
  releaseAll(): Promise<void> {
    return this.connections.release(this.owner);
  }

  /** Gives back one claim without refreshing (the sweep is paused). */
  releaseClaim(id: string): Promise<void> {
    return this.release(id);
  }

  /** Amazon answers again after an outage: every connection waiting out its backoff is due now. */
  private async resumeAfterOutage(correlationId: string): Promise<void> {
    const count = await this.connections.endBackoffs();
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
    await this.connections.release(this.owner, ids);
    for (const id of ids) this.leftLeases.delete(id);
  }

  private release(id: string): Promise<void> {
    return this.connections.release(this.owner, [id]);
  }

  private async storeTokens(
    connection: ConnectionEntity,
    tokens: LwaTokenSet,
    trigger: RefreshTrigger,
    correlationId: string,
    durationMs: number,
    actor = ACTOR[trigger],
  ): Promise<ConnectionEntity> {
    const changes = changesAfterSuccess(connection, tokens, new Date());
    const types: AuditEventType[] = [
      trigger === 'manual' ? 'manual_refresh' : 'refreshed',
    ];
    if (connection.status === 'degraded') types.push('recovered');
    const details = {
      durationMs,
      expiresInSeconds: tokens.expiresInSeconds,
      refreshTokenRotated: tokens.refreshToken !== undefined,
    };
    const stored = await this.audit.recordWithChange(
      this.connections.leasedUpdate(connection.id, this.owner, changes),
      types.map((type) => ({ type, actor, correlationId, details })),
    );
    if (!stored) throw new RefreshBusyError();
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
    actor = ACTOR[trigger],
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
    const { needsReauth, failureCount, delayMs, changes } = outcomeOfFailure(
      connection,
      error,
      new Date(),
    );
    await this.audit.recordWithChange(
      this.connections.leasedUpdate(connection.id, this.owner, changes),
      [
        {
          type: needsReauth ? 'needs_reauth' : 'refresh_failed',
          actor,
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
      ],
    );
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
    for (let wait = 0; Date.now() < deadline; wait = Math.min(100, wait + 20)) {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const current = await this.connections.find(id);
      if (!current) return { kind: 'skipped', reason: 'not found' };
      if (
        current.leaseOwner &&
        (current.leaseExpiresAt?.getTime() ?? 0) >= Date.now()
      )
        continue;
      if (!isLive(current.status)) {
        throw new ConnectionNotRefreshableError(current.status);
      }
      const refreshed =
        (current.lastRefreshedAt?.getTime() ?? 0) > (before?.getTime() ?? 0);
      if (refreshed) return { kind: 'current', connection: current };
      const timing = {
        id: current.id,
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

/** Grants each key once per interval (per process); forgets keys whose interval has passed. */
class OncePerInterval {
  private readonly grantedAt = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  take(key: string, now = Date.now()): boolean {
    const last = this.grantedAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (this.grantedAt.size > 10_000)
      for (const [other, at] of this.grantedAt)
        if (now - at >= this.intervalMs) this.grantedAt.delete(other);
    this.grantedAt.set(key, now);
    return true;
  }
}
