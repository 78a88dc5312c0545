import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes this migration adds, each with the question it answers. The sort expressions are
 * spelled as `ConnectionsRepository.page` orders by them (PAGE_SORTS): the planner uses an
 * expression index only for the same expression.
 */
const INDEXES = [
  // sort=created (the default), both directions: (created_at, id) > (cursor).
  {
    name: 'connections_page_created_idx',
    columns: '(created_at, id)',
  },
  // sort=expiry: no token last, as if it expired at infinity.
  {
    name: 'connections_page_expiry_idx',
    columns: `((COALESCE(access_token_expires_at, 'infinity'::timestamptz)), id)`,
  },
  // sort=label, case-insensitive.
  {
    name: 'connections_page_label_idx',
    columns: '((lower(label)), id)',
  },
  // sort=status, in the order of CONNECTION_STATUSES (as it was when this ran).
  {
    name: 'connections_page_status_idx',
    columns: `((CASE status WHEN 'active' THEN 0 WHEN 'degraded' THEN 1 WHEN 'needs_reauth' THEN 2 WHEN 'disconnected' THEN 3 END), id)`,
  },
  // The page's counts by status: an index-only scan, not the whole table.
  {
    name: 'connections_status_idx',
    columns: '(status)',
  },
];

/**
 * The admin's list a page at a time (`GET /connections`): each sort's first page, and every
 * page after it, is an index scan at 100,000 connections.
 *
 * Built in the migration's transaction, not CONCURRENTLY, like 1766000000007's (a concurrent
 * build waits for every open transaction, among them a second replica's wait for the migration
 * lock). Writes to `connections` wait while they are built, once, at the upgrade: well under a
 * second each at 100,000 rows.
 */
export class ConnectionPages1766000000008 implements MigrationInterface {
  name = 'ConnectionPages1766000000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES)
      await queryRunner.query(
        `CREATE INDEX IF NOT EXISTS ${index.name} ON connections ${index.columns}`,
      );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse())
      await queryRunner.query(`DROP INDEX IF EXISTS ${index.name}`);
  }
}
