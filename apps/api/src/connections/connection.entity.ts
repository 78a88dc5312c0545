import type {
  AdsProfileDto,
  DspAdvertiserDto,
  ConnectionStatus,
  Region,
} from '@keeper/contracts';
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { EncryptedColumn, KeyIdColumn } from '../crypto/encrypted-column';

/**
 * One Amazon advertiser account connected by consent. The code reads and writes the tokens in
 * plaintext; the database holds only Fernet ciphertexts under the key named by `keyId` (see
 * `EncryptedColumn`). A disconnected connection keeps its row (and audit) with the secrets
 * erased (set to null).
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
  @Column({
    name: 'amazon_account_ids',
    type: 'text',
    array: true,
    default: () => "'{}'",
  })
  amazonAccountIds!: string[];

  /**
   * The LWA access token. In an `update()` or QueryBuilder update, set it together with
   * `refreshToken` (see `PartialSecretUpdateError`); `save()` takes either alone.
   */
  @EncryptedColumn('access_token_ciphertext')
  accessToken!: string | null;

  /** The LWA refresh token (`Atzr|…`). */
  @EncryptedColumn('refresh_token_ciphertext')
  refreshToken!: string | null;

  /**
   * Id of the Fernet key both tokens are under (a hash of the key, never the key); kept right
   * on every write by `EncryptedColumnsSubscriber`, never set by hand.
   */
  @KeyIdColumn()
  keyId!: string | null;

  @Column({
    name: 'access_token_expires_at',
    type: 'timestamptz',
    nullable: true,
  })
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

  /** When the profiles were last read from Amazon (at consent, or a later re-read). */
  @Column({ name: 'profiles_read_at', type: 'timestamptz', nullable: true })
  profilesReadAt!: Date | null;

  /** The DSP advertisers of the connection's agency profiles. */
  @Column({ name: 'dsp_advertisers', type: 'jsonb', default: () => "'[]'" })
  dspAdvertisers!: DspAdvertiserDto[];

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
