import { Injectable } from '@nestjs/common';
import type { AuditDetailValue, AuditEventType } from '@keeper/contracts';
import { EntityManager } from 'typeorm';
import { DataSourceProvider } from '../database/data-source-provider';
import { AuditEventEntity } from './audit-event.entity';

/** One thing done to a connection, a key or the admin session. `details` never holds a secret. */
export interface AuditEventInput {
  type: AuditEventType;
  /** `admin`, `scheduler`, `service:<key id>`, `system` or `cli`. */
  actor: string;
  connectionId?: string | null;
  correlationId?: string | null;
  details?: Record<string, AuditDetailValue>;
}

/** Appends to the audit log; the log is never updated or deleted from here. */
@Injectable()
export class AuditService {
  constructor(private readonly database: DataSourceProvider) {}

  /**
   * Writes the event, inside the caller's transaction when `manager` is given (so the event
   * exists exactly when the change it records does).
   */
  async record(event: AuditEventInput, manager?: EntityManager): Promise<AuditEventEntity> {
    const repository = (manager ?? this.database.dataSource.manager).getRepository(AuditEventEntity);
    return repository.save(
      repository.create({
        type: event.type,
        actor: event.actor,
        connectionId: event.connectionId ?? null,
        correlationId: event.correlationId ?? null,
        details: event.details ?? {},
      }),
    );
  }
}
