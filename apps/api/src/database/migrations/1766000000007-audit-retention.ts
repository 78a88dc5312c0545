import { MigrationInterface, QueryRunner } from 'typeorm';

/** The indexes this migration adds, each with the question it answers. */
const INDEXES = [
  // The retention's pruner (AUDIT_RETENTION_DAYS): the oldest events first, without reading
  // the rest of the table.
  {
    name: 'audit_events_created_at_idx',
    columns: '(created_at)',
  },
  // The audit page filtered by connection and type at once: without it a connection with
  // millions of events read hundreds of pages to find a rare type (120 ms at 10 million rows).
  {
    name: 'audit_events_connection_type_idx',
    columns: '(connection_id, type, id DESC)',
  },
];

/**
 * Audit retention: the indexes that keep pruning and the audit page's filters fast at
 * 10 million rows.
 *
 * Built in the migration's transaction, not CONCURRENTLY: a concurrent build waits for every
 * open transaction, and a second replica starting at the same moment waits in one (its
 * `pg_advisory_lock` on the migrations) for the first to finish; neither ever did (found by the
 * fault suite's two replicas starting together). The cost: appends to the audit log wait while
 * an existing log is indexed, once, at the upgrade (seconds for millions of rows).
 */
export class AuditRetention1766000000007 implements MigrationInterface {
  name = 'AuditRetention1766000000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES)
      await queryRunner.query(
        `CREATE INDEX IF NOT EXISTS ${index.name} ON audit_events ${index.columns}`,
      );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse())
      await queryRunner.query(`DROP INDEX IF EXISTS ${index.name}`);
  }
}
