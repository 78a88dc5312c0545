import type { AuditDetailValue, AuditEventType } from '@keeper/contracts';
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
} from 'typeorm';

/** Append-only record of everything done to a connection, a key or the admin session. */
@Entity({ name: 'audit_events' })
export class AuditEventEntity {
  /** A bigint sequence: newest first by id, and the cursor of `GET /audit-events`. */
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
  })
  id!: string;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  @Column({ type: 'text' })
  type!: AuditEventType;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details!: Record<string, AuditDetailValue>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
