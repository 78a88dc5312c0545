import { Injectable } from '@nestjs/common';
import type { Region } from '@keeper/contracts';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ConnectionsRepository, TwinMerge } from './connections.repository';

/**
 * No two live connections of a region may stand for the same advertiser account. A consent
 * whose profiles cannot be read saves a connection without account ids (nothing to match a
 * reconnect on), so a twin can appear; the next profile read that finds one merges them here.
 *
 * PostgreSQL cannot enforce this itself (a unique or exclusion constraint on overlapping text
 * arrays needs a GiST operator class that text[] lacks), so every writer of account ids takes
 * {@link ConnectionTwins.lockAccounts} first and then looks: two of them on the same account run
 * one after the other, and the second sees what the first committed.
 */
@Injectable()
export class ConnectionTwins {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly audit: AuditService,
  ) {}

  /** Locks the accounts until the transaction ends (see ConnectionsRepository.lockAccounts). */
  lockAccounts(
    region: Region,
    accountIds: readonly string[],
    manager: EntityManager,
  ): Promise<void> {
    return this.connections.lockAccounts(region, accountIds, manager);
  }

  /**
   * Merges the live twins of `connectionId`, a connection whose tokens were just issued (by a
   * consent or a refresh) and whose profiles (`accountIds`) were just read and stored. Runs in
   * the caller's transaction, after {@link lockAccounts} on the same ids.
   *
   * The rows are locked oldest first (the same order in every transaction). The oldest stays,
   * because its id is the one jobs and dashboards already use; it takes `connectionId`'s tokens
   * (the newest: just issued and proven) and profiles. Every other twin is closed like a
   * disconnect (secrets erased, lease dropped, so a refresh in flight on it stores nothing) and
   * a `merged` audit event on the survivor names both ids. Answers undefined when there was no
   * twin, or when `connectionId` is no longer live (another replica merged it first).
   */
  async merge(
    input: {
      connectionId: string;
      region: Region;
      accountIds: readonly string[];
      actor: string;
      correlationId: string;
    },
    manager: EntityManager,
  ): Promise<TwinMerge | undefined> {
    const merged = await this.connections.mergeTwins(input, manager);
    if (!merged) return undefined;
    for (const closedId of merged.closedIds) {
      await this.audit.record(
        {
          type: 'merged',
          actor: input.actor,
          connectionId: merged.survivorId,
          correlationId: input.correlationId,
          details: {
            survivorId: merged.survivorId,
            closedId,
            region: input.region,
            tokensFrom: input.connectionId,
          },
        },
        manager,
      );
    }
    return merged;
  }
}
