import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A connection's place in the spread of refreshes, in [0, 1): the first 32 bits of the MD5 of its
 * id over 2^32, as `refreshPhase` in `connections/connection-rules.ts` computes it (its
 * integration spec checks the two agree). Stored, so the sweep's claim, which reads every live
 * row, does not hash each id at each claim (80 ms instead of over a second per 100,000 rows).
 * Changing it means a new migration.
 */
export const REFRESH_PHASE_EXPRESSION =
  "(('x' || substr(md5(id::text), 1, 8))::bit(32)::bigint::float8 / 4294967296)";

export class RefreshPhase1766000000010 implements MigrationInterface {
  name = 'RefreshPhase1766000000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE connections ADD COLUMN IF NOT EXISTS refresh_phase double precision
         GENERATED ALWAYS AS ${REFRESH_PHASE_EXPRESSION} STORED`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE connections DROP COLUMN IF EXISTS refresh_phase',
    );
  }
}
