import type { AdsProfileDto, ConnectionStatus, Region } from '@keeper/contracts';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * One Amazon advertiser account connected by consent. The tokens are Fernet ciphertexts under
 * the key named by `keyId`; a disconnected connection keeps its row (and audit) with the
 * secrets erased.
 */
@Entity({ name: 'connections' })
export class ConnectionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  label!: string;

  @Column({ type: 'text' })
  region!: Region;

  @Column({ type: 'text' })
  status!: ConnectionStatus;

  /** The Amazon advertiser account ids behind the profiles; a reconnect is matched on them. */
  @Column({ name: 'amazon_account_ids', type: 'text', array: true, default: () => "'{}'" })
  amazonAccountIds!: string[];

  @Column({ name: 'access_token_ciphertext', type: 'text', nullable: true })
  accessTokenCiphertext!: string | null;

  @Column({ name: 'refresh_token_ciphertext', type: 'text', nullable: true })
  refreshTokenCiphertext!: string | null;

  /** Id of the Fernet key both ciphertexts are under (a hash of the key, never the key). */
  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  @Column({ name: 'access_token_expires_at', type: 'timestamptz', nullable: true })
  accessTokenExpiresAt!: Date | null;

  @Column({ name: 'last_refreshed_at', type: 'timestamptz', nullable: true })
  lastRefreshedAt!: Date | null;

  /** When the scheduler may try again after a failure; `null`: as soon as it is due. */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'failure_count', type: 'integer', default: 0 })
  failureCount!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** The replica that claimed the row for a refresh, and until when (see the Refresh module). */
  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  profiles!: AdsProfileDto[];

  /** Profiles could not be read at connect time; the refresh sweep tries again. */
  @Column({ name: 'profiles_stale', type: 'boolean', default: false })
  profilesStale!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'disconnected_at', type: 'timestamptz', nullable: true })
  disconnectedAt!: Date | null;
}
