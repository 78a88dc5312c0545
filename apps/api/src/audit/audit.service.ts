import { Injectable } from '@nestjs/common';
import type { AuditDetailValue, AuditEventType } from '@keeper/contracts';
import { EntityManager } from 'typeorm';
import { Database } from '../database/database';
import type { SqlStatement } from '../database/sql-statement';
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

  /**
   * Runs `change` (an UPDATE of one connection's row, without RETURNING) and appends `events`
   * for the row it changed, in that one statement: atomic without a transaction, one round
   * trip instead of four (BEGIN, the change, the events, COMMIT); a refresh writes one per
   * attempt. Nothing is appended when the change touched no row. Announced as {@link record}
   * announces. Answers whether the row was changed (each event is appended exactly then, so
   * at least one is needed to tell).
   */
  async recordWithChange(
    change: SqlStatement,
    events: Omit<AuditEventInput, 'connectionId'>[],
  ): Promise<boolean> {
    if (events.length === 0)
      throw new Error('recordWithChange needs at least one event');
    const next = change.parameters.length + 1;
    const appended: { id: string }[] = await this.database.dataSource.query(
      `WITH changed AS (${change.query} RETURNING id),
         appended AS (
           INSERT INTO audit_events (type, actor, connection_id, correlation_id, details)
           SELECT e.type, e.actor, changed.id, e.correlation_id, e.details
             FROM changed,
                  unnest($${next}::text[], $${next + 1}::text[], $${next + 2}::text[], $${next + 3}::jsonb[])
                    WITH ORDINALITY AS e(type, actor, correlation_id, details, position)
            ORDER BY e.position
           RETURNING id, connection_id
         )
         SELECT id, pg_notify($${next + 4}, json_build_object('auditEventId', id::text, 'connectionId', connection_id)::text)
           FROM appended`,
      [
        ...change.parameters,
        events.map((event) => event.type),
        events.map((event) => event.actor),
        events.map((event) => event.correlationId ?? null),
        events.map((event) => JSON.stringify(event.details ?? {})),
        eventsChannel(
          (this.database.dataSource.options as { schema?: string }).schema,
        ),
      ],
    );
    return appended.length > 0;
  }
}
