import { Injectable } from '@nestjs/common';
import type {
  AuditEventDto,
  AuditEventPageDto,
  AuditEventType,
} from '@keeper/contracts';
import { Database } from '../database/database';
import { AuditEventEntity } from '../audit/audit-event.entity';

export interface AuditPageQuery {
  connectionId?: string;
  type?: AuditEventType;
  /** Only events older than this id (the previous page's cursor). */
  before?: string;
  limit: number;
}

export function toAuditEventDto(event: AuditEventEntity): AuditEventDto {
  return {
    id: event.id,
    connectionId: event.connectionId,
    type: event.type,
    actor: event.actor,
    correlationId: event.correlationId,
    details: event.details,
    createdAt: event.createdAt.toISOString(),
  };
}

/** Reads the audit log newest first with keyset paging on the id (stable while events arrive). */
@Injectable()
export class AuditLogReader {
  constructor(private readonly database: Database) {}

  async page(query: AuditPageQuery): Promise<AuditEventPageDto> {
    const builder = this.database.dataSource
      .getRepository(AuditEventEntity)
      .createQueryBuilder('event')
      .orderBy('event.id', 'DESC')
      .limit(query.limit + 1);
    if (query.connectionId)
      builder.andWhere('event.connection_id = :connectionId', {
        connectionId: query.connectionId,
      });
    if (query.type)
      builder.andWhere('event.type = :type', { type: query.type });
    if (query.before)
      builder.andWhere('event.id < :before', { before: query.before });
    const rows = await builder.getMany();
    const items = rows.slice(0, query.limit).map(toAuditEventDto);
    return {
      items,
      nextCursor: rows.length > query.limit ? items[items.length - 1].id : null,
    };
  }
}
