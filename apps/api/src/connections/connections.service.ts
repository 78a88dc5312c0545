import { Inject, Injectable } from '@nestjs/common';
import { CONNECTION_PAGE_LIMITS } from '@keeper/contracts';
import type {
  ConnectionDto,
  ConnectionPageDto,
  ConnectionSort,
  ConnectionStatus,
  Region,
} from '@keeper/contracts';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ConnectionEntity } from './connection.entity';
import { toConnectionDto } from './connection.mapper';
import { decodeCursor, encodeCursor, parseSort } from './connection-page';
import { ConnectionsRepository } from './connections.repository';

/** `GET /connections`'s query, validated by the controller. */
export interface ConnectionListQuery {
  status?: readonly ConnectionStatus[];
  region?: readonly Region[];
  /** Trimmed, 1 to 200 characters. */
  q?: string;
  sort?: ConnectionSort;
  cursor?: string;
  limit?: number;
}

export interface AdminAction {
  correlationId: string;
}

/** Reading, renaming and disconnecting connections, as the admin does it. */
@Injectable()
export class ConnectionsService {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * One page of the list, and the counts by status over every connection (filters ignored).
   * A cursor this service did not write, or wrote for another sort, is a 400.
   */
  async list(query: ConnectionListQuery = {}): Promise<ConnectionPageDto> {
    const sort = query.sort ?? 'created';
    const limit = query.limit ?? CONNECTION_PAGE_LIMITS.default;
    const after =
      query.cursor === undefined ? undefined : decodeCursor(query.cursor, sort);
    const [rows, counts] = await Promise.all([
      this.connections.page({
        statuses: query.status,
        regions: query.region,
        search: query.q,
        sort: parseSort(sort),
        after,
        rows: limit + 1,
      }),
      this.connections.counts(),
    ]);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => this.toDto(row.connection)),
      nextCursor:
        rows.length > limit
          ? encodeCursor(sort, page[page.length - 1].position)
          : null,
      counts,
    };
  }

  async get(id: string): Promise<ConnectionDto> {
    return this.toDto(await this.findOrFail(id));
  }

  async rename(
    id: string,
    label: string,
    action: AdminAction,
  ): Promise<ConnectionDto> {
    return this.connections.transaction(async (manager) => {
      const connection = await this.findOrFail(id, manager);
      const previous = connection.label;
      if (previous === label) return this.toDto(connection);
      await this.connections.update(id, { label }, manager);
      await this.audit.record(
        {
          type: 'renamed',
          actor: 'admin',
          connectionId: id,
          correlationId: action.correlationId,
          details: { from: previous, to: label },
        },
        manager,
      );
      return this.toDto({ ...connection, label, updatedAt: new Date() });
    });
  }

  /** Erases the tokens for good; the row and its audit trail stay. Amazon has no revocation endpoint. */
  async disconnect(id: string, action: AdminAction): Promise<ConnectionDto> {
    return this.connections.transaction(async (manager) => {
      const connection = await this.findOrFail(id, manager);
      if (connection.status === 'disconnected') return this.toDto(connection);
      const erased = await this.connections.erase(id, manager);
      await this.audit.record(
        {
          type: 'disconnected',
          actor: 'admin',
          connectionId: id,
          correlationId: action.correlationId,
          details: { region: connection.region },
        },
        manager,
      );
      return this.toDto({ ...connection, ...erased, updatedAt: new Date() });
    });
  }

  private async findOrFail(
    id: string,
    manager?: EntityManager,
  ): Promise<ConnectionEntity> {
    const connection = await this.connections.findPublic(id, manager);
    if (!connection) throw new NotFoundError(`There is no connection ${id}.`);
    return connection;
  }

  private toDto(connection: ConnectionEntity): ConnectionDto {
    return toConnectionDto(connection, this.config.refresh.windowSeconds);
  }
}
