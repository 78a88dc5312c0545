import type { Region } from '@keeper/contracts';
import type { EntityManager } from 'typeorm';
import type { AuditService } from '../audit/audit.service';

/**
 * No two live connections of a region may stand for the same advertiser account. A consent
 * whose profiles cannot be read saves a connection without account ids (nothing to match a
 * reconnect on), so a twin can appear; the next profile read that finds one merges them here.
 *
 * PostgreSQL cannot enforce this itself (a unique or exclusion constraint on overlapping text
 * arrays needs a GiST operator class that text[] lacks), so every writer of account ids takes
 * {@link lockAccounts} first and then looks: two of them on the same account run one after the
 * other, and the second sees what the first committed.
 */

/** Text of the advisory-lock key of one advertiser account in one region. */
const LOCK_PREFIX = 'atk-connection-account';

/**
 * Transaction-level advisory locks on the account ids (one each, taken in a fixed order so
 * two transactions cannot deadlock on them), held until the transaction ends.
 */
export async function lockAccounts(
  manager: EntityManager,
  region: Region,
  accountIds: readonly string[],
): Promise<void> {
  if (accountIds.length === 0) return;
  await manager.query(
    `SELECT pg_advisory_xact_lock(key) FROM (
       SELECT DISTINCT hashtextextended($1 || ':' || $2 || ':' || id, 0) AS key FROM unnest($3::text[]) AS id ORDER BY key
     ) AS keys`,
    [LOCK_PREFIX, region, [...accountIds]],
  );
}

export interface TwinMerge {
  /** The connection that stays: the oldest, whose id the jobs already use. */
  survivorId: string;
  /** The twins closed (`disconnected`, secrets erased) into it. */
  closedIds: string[];
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
export async function mergeTwins(
  manager: EntityManager,
  audit: AuditService,
  input: {
    connectionId: string;
    region: Region;
    accountIds: readonly string[];
    actor: string;
    correlationId: string;
  },
): Promise<TwinMerge | undefined> {
  if (input.accountIds.length === 0) return undefined;
  const rows: { id: string }[] = await manager.query(
    `SELECT id FROM connections
      WHERE region = $1 AND status <> 'disconnected' AND (id = $2 OR amazon_account_ids && $3::text[])
      ORDER BY created_at, id
      FOR UPDATE`,
    [input.region, input.connectionId, [...input.accountIds]],
  );
  if (rows.length < 2 || !rows.some((row) => row.id === input.connectionId))
    return undefined;
  const survivorId = rows[0].id;
  const closedIds = rows.slice(1).map((row) => row.id);
  if (survivorId !== input.connectionId) {
    // Ciphertexts move with their key id: no secret is decrypted for the move. The survivor's
    // lease is dropped: a refresh in flight on its old tokens then stores nothing over these.
    await manager.query(
      `UPDATE connections AS survivor
          SET access_token_ciphertext = newest.access_token_ciphertext,
              refresh_token_ciphertext = newest.refresh_token_ciphertext,
              key_id = newest.key_id,
              access_token_expires_at = newest.access_token_expires_at,
              last_refreshed_at = newest.last_refreshed_at,
              status = newest.status,
              failure_count = newest.failure_count,
              last_error = newest.last_error,
              next_attempt_at = newest.next_attempt_at,
              profiles = newest.profiles,
              amazon_account_ids = newest.amazon_account_ids,
              profiles_stale = newest.profiles_stale,
              lease_owner = NULL, lease_expires_at = NULL,
              updated_at = now()
         FROM connections AS newest
        WHERE survivor.id = $1 AND newest.id = $2`,
      [survivorId, input.connectionId],
    );
  }
  await manager.query(
    `UPDATE connections
        SET status = 'disconnected', access_token_ciphertext = NULL, refresh_token_ciphertext = NULL, key_id = NULL,
            access_token_expires_at = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
            disconnected_at = now(), updated_at = now()
      WHERE id = ANY($1::uuid[])`,
    [closedIds],
  );
  for (const closedId of closedIds) {
    await audit.record(
      {
        type: 'merged',
        actor: input.actor,
        connectionId: survivorId,
        correlationId: input.correlationId,
        details: {
          survivorId,
          closedId,
          region: input.region,
          tokensFrom: input.connectionId,
        },
      },
      manager,
    );
  }
  return { survivorId, closedIds };
}
