import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys for jobs (README: "Keys for jobs"): each stored as the SHA-256 of the key only, named,
 * allowed every connection (`connection_ids` NULL) or a chosen set. Revoking sets `revoked_at`;
 * the row stays, so the audit trail's `service:<id>` keeps naming something.
 *
 * The index is built in the migration's transaction, not CONCURRENTLY (see
 * 1766000000007-audit-retention.ts): the table is new and empty.
 */
export class ServiceKeys1766000000009 implements MigrationInterface {
  name = 'ServiceKeys1766000000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE service_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
        connection_ids uuid[] NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NULL,
        revoked_at timestamptz NULL
      )`);
    // Every replica loads the active keys at start and at every change.
    await queryRunner.query(
      `CREATE INDEX service_keys_active_idx ON service_keys (created_at) WHERE revoked_at IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE service_keys`);
  }
}
