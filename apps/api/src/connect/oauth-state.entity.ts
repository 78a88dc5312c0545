import type { Region } from '@keeper/contracts';
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { EncryptedColumn, KeyIdColumn } from '../crypto/encrypted-column';

/**
 * One pending Amazon consent: the `state` we sent (stored only as a hash), the PKCE verifier
 * (encrypted), the region, and the browser it belongs to. Used at most once.
 */
@Entity({ name: 'oauth_states' })
export class OAuthStateEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** SHA-256 of the state, hex. */
  @Column({ name: 'state_hash', type: 'text', unique: true })
  stateHash!: string;

  /** The PKCE code verifier, plaintext here and encrypted in the database; null once used. */
  @EncryptedColumn('code_verifier_ciphertext')
  codeVerifier!: string | null;

  /** Id of the Fernet key the verifier is under; kept right by `EncryptedColumnsSubscriber`. */
  @KeyIdColumn()
  keyId!: string | null;

  @Column({ type: 'text' })
  region!: Region;

  /**
   * SHA-256 of the browser binding that ties the callback to the admin who started it; the
   * same for every consent started in one admin session (several tabs).
   */
  @Column({ name: 'session_binding_hash', type: 'text' })
  sessionBindingHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** The connect link an account owner started this consent from; null for the admin's own. */
  @Column({ name: 'link_id', type: 'uuid', nullable: true })
  linkId!: string | null;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt!: Date | null;
}
