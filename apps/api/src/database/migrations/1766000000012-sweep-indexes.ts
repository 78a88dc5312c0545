import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes of the two questions the refresh sweep asks besides its claim
 * (`ConnectionsRepository.withStaleProfiles` and `withProfilesReadBefore`): each read every row
 * at each sweep of each replica, 60 to 90 ms per 100,000 connections alone and several hundred
 * under a three-replica sweep; with these, a few index entries (0.01 to 0.03 ms).
 *
 * - profiles not read at consent: few rows, so a partial index of them, in the order the sweep
 *   takes them;
 * - the daily re-read: every other row, by when its profiles were last read, so the sweep stops
 *   at the first one read within the day.
 *
 * Built in the migration's transaction, not CONCURRENTLY, like 1766000000008's.
 */
const INDEXES = [
  {
    name: 'connections_profiles_stale_idx',
    definition: '(updated_at) WHERE profiles_stale',
  },
  {
    name: 'connections_profiles_read_idx',
    definition: '(profiles_read_at NULLS FIRST) WHERE NOT profiles_stale',
  },
];

export class SweepIndexes1766000000012 implements MigrationInterface {
  name = 'SweepIndexes1766000000012';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES)
      await queryRunner.query(
        `CREATE INDEX IF NOT EXISTS ${index.name} ON connections ${index.definition}`,
      );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse())
      await queryRunner.query(`DROP INDEX IF EXISTS ${index.name}`);
  }
}
