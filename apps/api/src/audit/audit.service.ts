import { Injectable } from '@nestjs/common';
import type { AuditDetailValue, AuditEventType } from '@keeper/contracts';
import { EntityManager } from 'typeorm';
import { DataSourceProvider } from '../database/data-source-provider';
import { AuditNotification, eventsChannel } from '../events/events-channel';
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

/**
 * Appends to the audit log; the log is never updated or deleted from here. Each event is also
 * announced on a NOTIFY channel, which drives the console's live updates (EventsService).
 */
@Injectable()
export class AuditService {
  constructor(private readonly database: DataSourceProvider) {}

  /**
   * Writes the event, inside the caller's transaction when `manager` is given (so the event
   * exists exactly when the change it records does).
   */
  async record(event: AuditEventInput, manager?: EntityManager): Promise<AuditEventEntity> {
    const entityManager = manager ?? this.database.dataSource.manager;
    const repository = entityManager.getRepository(AuditEventEntity);
    const saved = await repository.save(
      repository.create({
        type: event.type,
        actor: event.actor,
        connectionId: event.connectionId ?? null,
        correlationId: event.correlationId ?? null,
        details: event.details ?? {},
      }),
    );
    // Delivered to every replica when (and only if) the surrounding transaction commits.
    const notification: AuditNotification = { auditEventId: saved.id, connectionId: saved.connectionId };
    await entityManager.query('SELECT pg_notify($1, $2)', [
      eventsChannel((entityManager.connection.options as { schema?: string }).schema),
      JSON.stringify(notification),
    ]);
    return saved;
  }
}
