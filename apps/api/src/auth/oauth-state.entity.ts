import type { Region } from '@keeper/contracts';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One pending Amazon consent: the `state` we sent (stored only as a hash), the PKCE verifier
 * (encrypted), the region, and the admin session it belongs to. Used at most once.
 */
@Entity({ name: 'oauth_states' })
export class OAuthStateEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** SHA-256 of the state, hex. */
  @Column({ name: 'state_hash', type: 'text', unique: true })
  stateHash!: string;

  @Column({ name: 'code_verifier_ciphertext', type: 'text', nullable: true })
  codeVerifierCiphertext!: string | null;

  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  @Column({ type: 'text' })
  region!: Region;

  /** SHA-256 of the browser binding that ties the callback to the admin who started it. */
  @Column({ name: 'session_binding_hash', type: 'text' })
  sessionBindingHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt!: Date | null;
}
