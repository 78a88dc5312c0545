import { Injectable } from '@nestjs/common';
import type { AuditDetailValue, AuditEventType } from '@keeper/contracts';
import { EntityManager } from 'typeorm';
import { Database } from '../database/database';
import { eventsChannel } from './events-channel';
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
  constructor(private readonly database: Database) {}

  /**
   * Writes the event, inside the caller's transaction when `manager` is given (so the event
   * exists exactly when the change it records does), and announces it in the same statement:
   * every refresh and connect writes one, so one round trip instead of two.
   */
  async record(
    event: AuditEventInput,
    manager?: EntityManager,
  ): Promise<AuditEventEntity> {
    const entityManager = manager ?? this.database.dataSource.manager;
    const fields = {
      type: event.type,
      actor: event.actor,
      connectionId: event.connectionId ?? null,
      correlationId: event.correlationId ?? null,
      details: event.details ?? {},
    };
    // The notification carries ids only (AuditNotification); it is delivered to every replica
    // when (and only if) the surrounding transaction commits.
    const [appended]: { id: string; created_at: Date }[] =
      await entityManager.query(
        `WITH appended AS (
         INSERT INTO audit_events (type, actor, connection_id, correlation_id, details)
         VALUES ($1, $2, $3, $4, $5::jsonb)
         RETURNING id, connection_id, created_at
       )
       SELECT id, created_at,
              pg_notify($6, json_build_object('auditEventId', id::text, 'connectionId', connection_id)::text)
         FROM appended`,
        [
          fields.type,
          fields.actor,
          fields.connectionId,
          fields.correlationId,
          JSON.stringify(fields.details),
          eventsChannel(
            (entityManager.connection.options as { schema?: string }).schema,
          ),
        ],
      );
    return Object.assign(new AuditEventEntity(), fields, {
      id: String(appended.id),
      createdAt: appended.created_at,
    });
  }
}
