import { Injectable, Logger } from '@nestjs/common';
import { LwaClient } from '../amazon/lwa.client';
import { LwaError } from '../amazon/lwa.errors';
import { accountIdsOf } from '../connections/connection-rules';
import { ConnectionEntity } from '../connections/connection.entity';
import { ConnectionTwins } from '../connections/connection-twins';
import { ConnectionsRepository } from '../connections/connections.repository';

/**
 * Reads a connection's Ads profiles again when they could not be read at consent, and merges a
 * live twin of the same account (a reconnect saved without profiles) in the same transaction
 * (see connection-twins.ts): the oldest row stays, with the newest tokens. Best effort.
 */
@Injectable()
export class ProfileReader {
  private readonly logger = new Logger(ProfileReader.name);
  private readonly rereads = new Map<
    string,
    Promise<ConnectionEntity | undefined>
  >();

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
   * Reads the profiles again now, unless they were read within `notWithinMs`; callers asking at
   * once share one read. Answers the connection as it is after, or undefined when unknown.
   */
  reread(
    id: string,
    correlationId: string,
    options: { notWithinMs: number },
  ): Promise<ConnectionEntity | undefined> {
    let running = this.rereads.get(id);
    if (!running) {
      running = this.rereadNow(id, correlationId, options.notWithinMs).finally(
        () => this.rereads.delete(id),
      );
      this.rereads.set(id, running);
    }
    return running;
  }

  private async rereadNow(
    id: string,
    correlationId: string,
    notWithinMs: number,
  ): Promise<ConnectionEntity | undefined> {
    const connection = await this.connections.find(id);
    if (!connection) return undefined;
    const readAt = connection.profilesReadAt?.getTime() ?? 0;
    if (Date.now() - readAt < notWithinMs || !connection.accessToken)
      return connection;
    await this.read(connection, correlationId);
    return connection;
  }

  /** Reads the profiles with the connection's current token; updates `connection` in place. */
  async read(
    connection: ConnectionEntity,
    correlationId: string,
  ): Promise<void> {
    try {
      const profiles = await this.lwa.listProfiles(
        connection.region,
        connection.accessToken as string,
        { maxRetries: 0 },
      );
      const amazonAccountIds = accountIdsOf(profiles);
      const merged = await this.connections.transaction(async (manager) => {
        await this.twins.lockAccounts(
          connection.region,
          amazonAccountIds,
          manager,
        );
        await this.connections.storeProfiles(
          connection.id,
          profiles,
          amazonAccountIds,
          manager,
        );
        return this.twins.merge(
          {
            connectionId: connection.id,
            region: connection.region,
            accountIds: amazonAccountIds,
            actor: 'system',
            correlationId,
          },
          manager,
        );
      });
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
}
