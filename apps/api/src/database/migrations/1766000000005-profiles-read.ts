import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What Amazon lets a connection reach, kept current: when its profiles were last read, and the
 * DSP advertisers of its agency profiles. Existing rows count as read when they last changed.
 */
export class ProfilesRead1766000000005 implements MigrationInterface {
  name = 'ProfilesRead1766000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE connections
        ADD COLUMN profiles_read_at timestamptz,
        ADD COLUMN dsp_advertisers jsonb NOT NULL DEFAULT '[]'`);
    await queryRunner.query(
      `UPDATE connections SET profiles_read_at = updated_at WHERE NOT profiles_stale AND status <> 'disconnected'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE connections DROP COLUMN profiles_read_at, DROP COLUMN dsp_advertisers`,
    );
  }
}
