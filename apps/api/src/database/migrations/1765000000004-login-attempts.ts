import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Failed-login counters shared by every replica: one row per bucket (a client address, the
 * admin account, a known browser), counting failures in a fixed window that starts with the
 * first failure. Rows whose window has ended are pruned.
 */
export class LoginAttempts1765000000004 implements MigrationInterface {
  name = 'LoginAttempts1765000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE login_attempts (
        bucket text PRIMARY KEY,
        window_started_at timestamptz NOT NULL,
        window_seconds integer NOT NULL,
        failures integer NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX login_attempts_window_started_at_idx ON login_attempts (window_started_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE login_attempts`);
  }
}
