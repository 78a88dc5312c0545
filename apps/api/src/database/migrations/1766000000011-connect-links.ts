import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Links for account owners (README: "Onboarding with connect links"): each stored as the
 * SHA-256 of its secret only, for a region, optionally for one connection (a reconnect link).
 * Used once (`used_at`), revocable (`revoked_at`); the rows stay for the audit trail's
 * `link:<id>`. A consent started from a link carries its id in `oauth_states.link_id`.
 *
 * The indexes are built in the migration's transaction, not CONCURRENTLY (see
 * 1766000000007-audit-retention.ts): the table is new and empty, and `oauth_states.link_id`
 * is NULL everywhere.
 */
export class ConnectLinks1766000000011 implements MigrationInterface {
  name = 'ConnectLinks1766000000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE connect_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        secret_hash bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
        region text NOT NULL,
        label text NULL CHECK (char_length(label) BETWEEN 1 AND 100),
        connection_id uuid NULL REFERENCES connections (id) ON DELETE SET NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz NULL,
        revoked_at timestamptz NULL,
        result_connection_id uuid NULL REFERENCES connections (id) ON DELETE SET NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX connect_links_created_idx ON connect_links (created_at DESC)`,
    );
    await queryRunner.query(
      `ALTER TABLE oauth_states ADD COLUMN link_id uuid NULL REFERENCES connect_links (id) ON DELETE CASCADE`,
    );
    await queryRunner.query(
      `CREATE INDEX oauth_states_link_idx ON oauth_states (link_id) WHERE link_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE oauth_states DROP COLUMN link_id`);
    await queryRunner.query(`DROP TABLE connect_links`);
  }
}
