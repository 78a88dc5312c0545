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
 * 10 million rows. Built CONCURRENTLY (outside a transaction), so the refreshes and consents
 * that append audit events keep writing while a large log is indexed.
 */
export class AuditRetention1766000000007 implements MigrationInterface {
  name = 'AuditRetention1766000000007';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES) {
      // A concurrent build that was interrupted leaves an invalid index behind: built again.
      const [existing]: { valid: boolean }[] = await queryRunner.query(
        `SELECT i.indisvalid AS valid
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = $1 AND n.nspname = current_schema()`,
        [index.name],
      );
      if (existing?.valid) continue;
      if (existing)
        await queryRunner.query(`DROP INDEX CONCURRENTLY ${index.name}`);
      await queryRunner.query(
        `CREATE INDEX CONCURRENTLY ${index.name} ON audit_events ${index.columns}`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse())
      await queryRunner.query(
        `DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`,
      );
  }
}
