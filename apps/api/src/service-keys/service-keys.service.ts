import { Injectable } from '@nestjs/common';
import type {
  CreatedServiceKeyDto,
  CreateServiceKeyRequest,
  ServiceKeyDto,
} from '@keeper/contracts';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { newServiceKey, serviceKeyHash } from '../auth/service-key-index';
import {
  serviceKeysChannel,
  ServiceKeyVerifier,
} from '../auth/service-key.verifier';
import { DomainError, NotFoundError } from '../common/domain-errors';
import { ConnectionsRepository } from '../connections/connections.repository';
import { Database } from '../database/database';

/** A create request naming connections that do not exist. */
export class UnknownConnectionIdsError extends DomainError {
  readonly httpStatus = 400;

  constructor(ids: string[]) {
    const shown = ids.slice(0, 5).join(', ');
    super(
      `connectionIds names ${ids.length === 1 ? 'a connection' : `${ids.length} connections`} that do${ids.length === 1 ? 'es' : ''} not exist: ${shown}${ids.length > 5 ? ', …' : ''}.`,
    );
  }
}

interface ServiceKeyRow {
  id: string;
  name: string;
  connection_ids: string[] | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Never `key_hash`: the hash stays in the table and the verifier. */
const COLUMNS =
  'id, name, connection_ids, created_at, last_used_at, revoked_at';

export interface AdminAction {
  correlationId: string;
}

/**
 * The admin's keys for jobs (README: "Keys for jobs"): made, listed and revoked. Each change
 * is audited and announced on {@link serviceKeysChannel} in its own transaction, so every
 * replica's verifier reads the keys again as soon as it commits; this replica's index is
 * updated before the answer.
 */
@Injectable()
export class ServiceKeysService {
  constructor(
    private readonly database: Database,
    private readonly connections: ConnectionsRepository,
    private readonly audit: AuditService,
    private readonly verifier: ServiceKeyVerifier,
  ) {}

  async list(): Promise<ServiceKeyDto[]> {
    const rows: ServiceKeyRow[] = await this.database.dataSource.query(
      `SELECT ${COLUMNS} FROM service_keys ORDER BY created_at DESC, id`,
    );
    return rows.map(toDto);
  }

  /** `request` is validated already (name, at most 1,000 well-formed ids). */
  async create(
    request: CreateServiceKeyRequest,
    action: AdminAction,
  ): Promise<CreatedServiceKeyDto> {
    const connectionIds =
      request.connectionIds == null
        ? null
        : [...new Set(request.connectionIds.map((id) => id.toLowerCase()))];
    const key = newServiceKey();
    const keyHash = serviceKeyHash(key);
    const row = await this.database.dataSource.transaction(async (manager) => {
      if (connectionIds) {
        const existing = await this.connections.existingIds(
          connectionIds,
          manager,
        );
        const unknown = connectionIds.filter((id) => !existing.has(id));
        if (unknown.length > 0) throw new UnknownConnectionIdsError(unknown);
      }
      const [created]: ServiceKeyRow[] = await manager.query(
        `INSERT INTO service_keys (name, key_hash, connection_ids)
         VALUES ($1, $2, $3::uuid[]) RETURNING ${COLUMNS}`,
        [request.name, keyHash, connectionIds],
      );
      await this.audit.record(
        {
          type: 'service_key_created',
          actor: 'admin',
          correlationId: action.correlationId,
          details: {
            keyId: created.id,
            name: created.name,
            connections: connectionIds ? connectionIds.length : 'all',
          },
        },
        manager,
      );
      await this.announce(manager, created.id);
      return created;
    });
    this.verifier.index.addStored({ id: row.id, keyHash, connectionIds });
    await this.verifier.reload();
    return { ...toDto(row), key };
  }

  /**
   * Revokes the key (the row stays, with `revokedAt`). Revoking a revoked key changes nothing
   * and answers it as it is, `revokedAt` the first revocation's time.
   */
  async revoke(id: string, action: AdminAction): Promise<ServiceKeyDto> {
    const row = await this.database.dataSource.transaction(async (manager) => {
      const [current]: ServiceKeyRow[] = await manager.query(
        `SELECT ${COLUMNS} FROM service_keys WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!current) throw new NotFoundError(`There is no service key ${id}.`);
      if (current.revoked_at) return current;
      // In a WITH: TypeORM answers a bare UPDATE as [rows, count], a SELECT as rows.
      const [revoked]: ServiceKeyRow[] = await manager.query(
        `WITH revoked AS (
           UPDATE service_keys SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}
         ) SELECT * FROM revoked`,
        [id],
      );
      await this.audit.record(
        {
          type: 'service_key_revoked',
          actor: 'admin',
          correlationId: action.correlationId,
          details: { keyId: revoked.id, name: revoked.name },
        },
        manager,
      );
      await this.announce(manager, id);
      return revoked;
    });
    // Refused here at once; a read of the keys that began before the commit is followed by
    // one more (reload), so it cannot bring the key back.
    this.verifier.index.removeStored(id);
    await this.verifier.reload();
    return toDto(row);
  }

  /** Delivered to every replica's verifier when (and only if) the transaction commits. */
  private async announce(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [
      serviceKeysChannel(
        (manager.connection.options as { schema?: string }).schema,
      ),
      id,
    ]);
  }
}

function toDto(row: ServiceKeyRow): ServiceKeyDto {
  return {
    id: row.id,
    name: row.name,
    connectionIds: row.connection_ids,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
