import { Inject, Injectable } from '@nestjs/common';
import type { ConnectionDto } from '@keeper/contracts';
import { AuditService } from '../audit/audit.service';
import { NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DatabaseService } from '../database/database.service';
import { ConnectionEntity } from './connection.entity';
import {
  CONNECTION_PUBLIC_COLUMNS,
  toConnectionDto,
} from './connection.mapper';

export interface AdminAction {
  correlationId: string;
}

/** Reading, renaming and disconnecting connections, as the admin does it. */
@Injectable()
export class ConnectionsService {
  constructor(
    private readonly database: DatabaseService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(): Promise<ConnectionDto[]> {
    const connections = await this.database
      .repository(ConnectionEntity)
      .find({ select: CONNECTION_PUBLIC_COLUMNS, order: { createdAt: 'ASC' } });
    return connections.map((connection) => this.toDto(connection));
  }

  async get(id: string): Promise<ConnectionDto> {
    return this.toDto(await this.findOrFail(id));
  }

  async rename(
    id: string,
    label: string,
    action: AdminAction,
  ): Promise<ConnectionDto> {
    return this.database.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(ConnectionEntity);
      const connection = await this.findOrFail(
        id,
        manager.getRepository(ConnectionEntity),
      );
      const previous = connection.label;
      if (previous === label) return this.toDto(connection);
      await repository.update({ id }, { label });
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
    return this.database.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(ConnectionEntity);
      const connection = await this.findOrFail(id, repository);
      if (connection.status === 'disconnected') return this.toDto(connection);
      const erased: Partial<ConnectionEntity> = {
        status: 'disconnected',
        accessToken: null,
        refreshToken: null,
        accessTokenExpiresAt: null,
        nextAttemptAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        disconnectedAt: new Date(),
      };
      // An update, not a save: a save would first read and decrypt the secrets it erases.
      await repository.update({ id }, erased);
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
    repository = this.database.repository(ConnectionEntity),
  ): Promise<ConnectionEntity> {
    const connection = await repository.findOne({
      select: CONNECTION_PUBLIC_COLUMNS,
      where: { id },
    });
    if (!connection) throw new NotFoundError(`There is no connection ${id}.`);
    return connection;
  }

  private toDto(connection: ConnectionEntity): ConnectionDto {
    return toConnectionDto(connection, this.config.refresh.windowSeconds);
  }
}
