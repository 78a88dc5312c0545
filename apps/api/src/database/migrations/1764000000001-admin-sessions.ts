import { MigrationInterface, QueryRunner } from 'typeorm';

/** Admin console sessions (hashed ids). */
export class AdminSessions1764000000001 implements MigrationInterface {
  name = 'AdminSessions1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE admin_sessions (
        id_hash text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX admin_sessions_expires_at_idx ON admin_sessions (expires_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE admin_sessions`);
  }
}
