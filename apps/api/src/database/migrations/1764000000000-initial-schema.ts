import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connections, pending OAuth states and the audit log. Secrets are stored only as Fernet
 * ciphertexts (`*_ciphertext`), each row naming the key they are under in `key_id`, indexed
 * for `npm run keys -- status` and rotation.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        label text NOT NULL,
        region text NOT NULL CHECK (region IN ('na', 'eu', 'fe')),
        status text NOT NULL CHECK (status IN ('active', 'degraded', 'needs_reauth', 'disconnected')),
        amazon_account_ids text[] NOT NULL DEFAULT '{}',
        access_token_ciphertext text,
        refresh_token_ciphertext text,
        key_id text,
        access_token_expires_at timestamptz,
        last_refreshed_at timestamptz,
        next_attempt_at timestamptz,
        failure_count integer NOT NULL DEFAULT 0,
        last_error text,
        lease_owner text,
        lease_expires_at timestamptz,
        profiles jsonb NOT NULL DEFAULT '[]',
        profiles_stale boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        disconnected_at timestamptz,
        CHECK ((access_token_ciphertext IS NULL AND refresh_token_ciphertext IS NULL) OR key_id IS NOT NULL)
      )`);
    // The refresh sweep's question: which live connections expire soon?
    await queryRunner.query(`
      CREATE INDEX connections_refresh_due_idx ON connections (access_token_expires_at)
      WHERE status IN ('active', 'degraded')`);
    await queryRunner.query(
      `CREATE INDEX connections_key_id_idx ON connections (key_id)`,
    );
    await queryRunner.query(
      `CREATE INDEX connections_account_ids_idx ON connections USING gin (amazon_account_ids)`,
    );

    await queryRunner.query(`
      CREATE TABLE oauth_states (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        state_hash text NOT NULL UNIQUE,
        code_verifier_ciphertext text,
        key_id text,
        region text NOT NULL CHECK (region IN ('na', 'eu', 'fe')),
        session_binding_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz,
        CHECK (code_verifier_ciphertext IS NULL OR key_id IS NOT NULL)
      )`);
    await queryRunner.query(
      `CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX oauth_states_key_id_idx ON oauth_states (key_id)`,
    );

    await queryRunner.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        connection_id uuid REFERENCES connections (id) ON DELETE SET NULL,
        type text NOT NULL,
        actor text NOT NULL,
        correlation_id text,
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX audit_events_connection_idx ON audit_events (connection_id, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX audit_events_type_idx ON audit_events (type, id DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_events`);
    await queryRunner.query(`DROP TABLE oauth_states`);
    await queryRunner.query(`DROP TABLE connections`);
  }
}
