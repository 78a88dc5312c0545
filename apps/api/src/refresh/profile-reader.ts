import { Injectable, Logger } from '@nestjs/common';
import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import { LwaClient } from '../amazon/lwa.client';
import { LwaError } from '../amazon/lwa.errors';
import { accountIdsOf, isLive } from '../connections/connection-rules';
import { ConnectionEntity } from '../connections/connection.entity';
import { ConnectionTwins } from '../connections/connection-twins';
import { ConnectionsRepository } from '../connections/connections.repository';
import {
  agencyProfiles,
  dspAdvertisersAfter,
  withLostProfiles,
} from './profile-merge';
import { ConnectionNotRefreshableError } from './refresh.errors';

/** Every connection's profiles are read again once they are this old (README: "daily"). */
export const PROFILES_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Daily re-reads per sweep (a profiles call each, plus one per agency profile). */
export const DAILY_READS_PER_SWEEP = 20;
/** A daily re-read that failed is tried again by this process after this long, not every sweep. */
export const FAILED_DAILY_READ_RETRY_MS = 60 * 60 * 1000;
/** Per-process memory of recent attempts is pruned beyond this many connections. */
const ATTEMPTS_KEPT = 10_000;

/**
 * Reads what Amazon lets a connection reach and keeps it current (README, "What the service
 * does on its own"): its Ads profiles (a profile Amazon stops listing stays, marked lost, and
 * is never a reason for re-consent) and the DSP advertisers of its agency profiles. Reads at
 * the sweep (profiles missing since a consent, then every connection once a day) and on
 * demand ({@link reread}: the admin's "refresh profiles", the Ads API proxy meeting a profile
 * it does not know). A read also merges a live twin of the same account in the same
 * transaction (see connection-twins.ts): the oldest row stays, with the newest tokens.
 * Reads use the stored access token and never ask for a new one.
 */
@Injectable()
export class ProfileReader {
  private readonly logger = new Logger(ProfileReader.name);
  /** The on-demand read in flight in this process, per connection: concurrent callers share it. */
  private readonly rereads = new Map<
    string,
    Promise<ConnectionEntity | undefined>
  >();
  /** When this process last started an on-demand read, per connection (failed ones too). */
  private readonly rereadAttempts = new Map<string, number>();
  /** Daily re-reads that failed in this process, and when. */
  private readonly failedDaily = new Map<string, number>();

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly twins: ConnectionTwins,
    private readonly lwa: LwaClient,
  ) {}

  /**
   * Connections whose profiles could not be read at consent are read again at every sweep with
   * their current token (not only after their next refresh, up to an hour later): until then a
   * reconnect's twin cannot be merged, and jobs using the older connection's id get 409. At most
   * `limit` per sweep, a profiles call each (no token request).
   */
  async readStale(correlationId: string, limit = 20): Promise<void> {
    for (const id of await this.connections.withStaleProfiles(limit)) {
      const connection = await this.connections.find(id);
      if (connection?.profilesStale && connection.accessToken)
        await this.read(connection, correlationId);
    }
  }

  /**
   * Every live connection's profiles are read again once the last read is a day old: Amazon
   * adds and removes profiles (and DSP advertisers) without telling anyone. At most `limit`
   * per sweep, oldest read first, with the stored token (rows whose token expires within a
   * minute wait for their refresh). A read that fails is tried again by this process an hour
   * later, so a connection Amazon keeps refusing costs one call an hour, not one a sweep, and
   * does not hold up the rows behind it.
   */
  async readDaily(
    correlationId: string,
    limit = DAILY_READS_PER_SWEEP,
  ): Promise<void> {
    const now = Date.now();
    prune(this.failedDaily, now - FAILED_DAILY_READ_RETRY_MS);
    const ids = await this.connections.withProfilesReadBefore(
      PROFILES_MAX_AGE_MS / 1000,
      limit,
      [...this.failedDaily.keys()],
    );
    for (const id of ids) {
      const connection = await this.connections.find(id);
      if (!connection?.accessToken || !isLive(connection.status)) continue;
      // Another replica's sweep may have read it since the query above.
      if (
        connection.profilesReadAt &&
        connection.profilesReadAt.getTime() > Date.now() - PROFILES_MAX_AGE_MS
      )
        continue;
      if (!(await this.read(connection, correlationId)))
        this.failedDaily.set(id, Date.now());
    }
  }

  /**
   * Reads the connection's profiles again now, unless they were read within `notWithinMs`
   * (by any replica, after a successful read; by this process, after any attempt): callers
   * asking at once share one read. Answers the row after (public columns), or undefined for an
   * unknown connection. Best effort, for the Ads API proxy meeting a profile it does not know:
   * when Amazon fails (logged), or the connection needs a new consent or was disconnected
   * (nothing is read), the row as it is.
   */
  async reread(
    id: string,
    correlationId: string,
    options: { notWithinMs: number },
  ): Promise<ConnectionEntity | undefined> {
    try {
      return await this.rereadOrThrow(id, correlationId, options);
    } catch (error) {
      if (error instanceof LwaError)
        this.logger.warn(
          { correlationId, connectionId: id, kind: error.kind },
          'Reading the Ads profiles again failed; the stored ones stay',
        );
      else if (!(error instanceof ConnectionNotRefreshableError)) throw error;
      return (await this.connections.findPublic(id)) ?? undefined;
    }
  }

  /**
   * {@link reread} that says why a read did not happen: a connection that needs a new consent
   * or was disconnected throws {@link ConnectionNotRefreshableError}, and Amazon's failure of
   * the profiles call its `LwaError` (a DSP advertisers call that fails keeps that profile's
   * previous advertisers and fails nothing). Uses the stored token: callers make sure it is
   * valid. What the admin's "refresh profiles" calls.
   */
  rereadOrThrow(
    id: string,
    correlationId: string,
    { notWithinMs }: { notWithinMs: number },
  ): Promise<ConnectionEntity | undefined> {
    const running = this.rereads.get(id);
    if (running) return running;
    const attempt = this.rereadOnce(id, correlationId, notWithinMs).finally(
      () => {
        if (this.rereads.get(id) === attempt) this.rereads.delete(id);
      },
    );
    this.rereads.set(id, attempt);
    return attempt;
  }

  private async rereadOnce(
    id: string,
    correlationId: string,
    notWithinMs: number,
  ): Promise<ConnectionEntity | undefined> {
    const connection = await this.connections.find(id);
    if (!connection) return undefined;
    if (!isLive(connection.status))
      throw new ConnectionNotRefreshableError(connection.status);
    const now = Date.now();
    const lastRead = Math.max(
      connection.profilesReadAt?.getTime() ?? Number.NEGATIVE_INFINITY,
      this.rereadAttempts.get(id) ?? Number.NEGATIVE_INFINITY,
    );
    if (now - lastRead >= notWithinMs && connection.accessToken) {
      if (this.rereadAttempts.size >= ATTEMPTS_KEPT)
        prune(this.rereadAttempts, now - 60 * 60 * 1000);
      this.rereadAttempts.set(id, now);
      await this.readOrThrow(connection, correlationId);
    }
    return (await this.connections.findPublic(id)) ?? undefined;
  }

  /**
   * Reads with the connection's current token, best effort: a failure of Amazon is logged and
   * changes nothing. Updates `connection` in place; answers whether the read succeeded.
   */
  async read(
    connection: ConnectionEntity,
    correlationId: string,
  ): Promise<boolean> {
    try {
      await this.readOrThrow(connection, correlationId);
      return true;
    } catch (error) {
      if (!(error instanceof LwaError)) throw error;
      this.logger.warn(
        { correlationId, connectionId: connection.id, kind: error.kind },
        'Reading the Ads profiles failed; the next read tries again',
      );
      return false;
    }
  }

  /** One read: the profiles, then each agency profile's DSP advertisers, stored in one transaction. */
  private async readOrThrow(
    connection: ConnectionEntity,
    correlationId: string,
  ): Promise<void> {
    const listed = await this.lwa.listProfiles(
      connection.region,
      connection.accessToken as string,
      { maxRetries: 0 },
    );
    const dspRead = await this.readDspAdvertisers(
      connection,
      listed,
      correlationId,
    );
    // Only profiles Amazon lists now stand for an account: a lost one must not match a
    // reconnect or merge a twin.
    const amazonAccountIds = accountIdsOf(listed);
    const readAt = new Date();
    const { stored, merged } = await this.connections.transaction(
      async (manager) => {
        await this.twins.lockAccounts(
          connection.region,
          amazonAccountIds,
          manager,
        );
        const before = (await this.connections.lockProfiles(
          connection.id,
          manager,
        )) ?? {
          profiles: connection.profiles,
          dspAdvertisers: connection.dspAdvertisers,
        };
        const stored = {
          profiles: withLostProfiles(listed, before.profiles, readAt),
          amazonAccountIds,
          dspAdvertisers: dspAdvertisersAfter(
            listed,
            dspRead,
            before.dspAdvertisers,
          ),
          readAt,
        };
        await this.connections.storeProfiles(connection.id, stored, manager);
        const merged = await this.twins.merge(
          {
            connectionId: connection.id,
            region: connection.region,
            accountIds: amazonAccountIds,
            actor: 'system',
            correlationId,
          },
          manager,
        );
        return { stored, merged };
      },
    );
    Object.assign(connection, {
      profiles: stored.profiles,
      amazonAccountIds,
      dspAdvertisers: stored.dspAdvertisers,
      profilesReadAt: readAt,
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
  }

  /**
   * The DSP advertisers of each listed agency profile, one call each; a call that fails leaves
   * that profile's entry undefined (its stored advertisers are kept) and is logged.
   */
  private async readDspAdvertisers(
    connection: ConnectionEntity,
    listed: readonly AdsProfileDto[],
    correlationId: string,
  ): Promise<Map<string, DspAdvertiserDto[] | undefined>> {
    const read = new Map<string, DspAdvertiserDto[] | undefined>();
    for (const { profileId } of agencyProfiles(listed)) {
      try {
        read.set(
          profileId,
          await this.lwa.listDspAdvertisers(
            connection.region,
            connection.accessToken as string,
            profileId,
            { maxRetries: 0 },
          ),
        );
      } catch (error) {
        if (!(error instanceof LwaError)) throw error;
        read.set(profileId, undefined);
        this.logger.warn(
          {
            correlationId,
            connectionId: connection.id,
            profileId,
            kind: error.kind,
          },
          'Listing the DSP advertisers of an agency profile failed; its previous ones are kept',
        );
      }
    }
    return read;
  }
}

/** Drops the entries older than `before` (attempt times in ms). */
function prune(attempts: Map<string, number>, before: number): void {
  for (const [id, at] of attempts) if (at < before) attempts.delete(id);
}
