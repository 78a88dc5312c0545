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
 * What the list's search (`?q=`) reads: the label, then each profile's account id, profile id
 * and account name, one per line, lower-cased. A query never holds a control character, so a
 * match never spans two of them. Immutable (it reads only its arguments), so a generated column
 * may use it.
 */
const SEARCH_TEXT_FUNCTION = `
  CREATE OR REPLACE FUNCTION connection_search_text(label text, profiles jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(concat_ws(E'\\n', label, (
      SELECT string_agg(concat_ws(E'\\n', profile->>'accountId', profile->>'profileId', profile->>'accountName'), E'\\n')
        FROM jsonb_array_elements(profiles) AS profile)))
  $$`;

/**
 * The admin's list a page at a time (`GET /connections`): each sort's first page, and every
 * page after it, is an index scan at 100,000 connections, and the search reads one short text
 * column per row instead of the profiles' JSON (see `ConnectionsRepository.page`). The column
 * is generated, so every write of a label or profiles keeps it current; adding it rewrites the
 * table once (2 s at 100,000 rows of two profiles each).
 *
 * Built in the migration's transaction, not CONCURRENTLY, like 1766000000007's (a concurrent
 * build waits for every open transaction, among them a second replica's wait for the migration
 * lock). Writes to `connections` wait while they are built, once, at the upgrade: 0.1 to 0.3 s each
 * at 100,000 rows.
 */
export class ConnectionPages1766000000008 implements MigrationInterface {
  name = 'ConnectionPages1766000000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(SEARCH_TEXT_FUNCTION);
    await queryRunner.query(
      `ALTER TABLE connections ADD COLUMN IF NOT EXISTS search_text text
         GENERATED ALWAYS AS (connection_search_text(label, profiles)) STORED`,
    );
    for (const index of INDEXES)
      await queryRunner.query(
        `CREATE INDEX IF NOT EXISTS ${index.name} ON connections ${index.columns}`,
      );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse())
      await queryRunner.query(`DROP INDEX IF EXISTS ${index.name}`);
    await queryRunner.query(
      'ALTER TABLE connections DROP COLUMN IF EXISTS search_text',
    );
    await queryRunner.query(
      'DROP FUNCTION IF EXISTS connection_search_text(text, jsonb)',
    );
  }
}
