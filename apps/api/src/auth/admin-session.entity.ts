import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A logged-in console. The cookie holds a random id; the table holds only its hash. */
@Entity({ name: 'admin_sessions' })
export class AdminSessionEntity {
  /** SHA-256 of the session id, hex. */
  @PrimaryColumn({ name: 'id_hash', type: 'text' })
  idHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;
}
