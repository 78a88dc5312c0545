import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { openTestDataSource } from '../../test/test-data-source';
import { Database } from '../database/database';
import { AuditPruner } from './audit-pruner';

describe(`${AuditPruner.name} against PostgreSQL`, () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openTestDataSource(database);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  beforeEach(async () => {
    await database.query('TRUNCATE audit_events');
  });

  /** `count` events, `ageDays` old, for one connection (and its row). */
  async function appendEvents(count: number, ageDays: number): Promise<void> {
    const [connection] = await database.query<{ id: string }>(
      `INSERT INTO connections (label, region, status) VALUES ('acme', 'na', 'active') RETURNING id`,
    );
    await database.query(
      `INSERT INTO audit_events (connection_id, type, actor, created_at)
       SELECT $1, 'refreshed', 'scheduler', now() - make_interval(days => $2) - g * interval '1 second'
         FROM generate_series(1, $3) g`,
      [connection.id, ageDays, count],
    );
  }

  async function ages(): Promise<Record<string, number>> {
    const rows = await database.query<{ days: number; count: string }>(
      `SELECT floor(extract(epoch FROM now() - created_at) / 86400)::int AS days, count(*)
         FROM audit_events GROUP BY 1 ORDER BY 1`,
    );
    return Object.fromEntries(rows.map((row) => [row.days, Number(row.count)]));
  }

  function pruner(retentionDays: number, batchSize = 500): AuditPruner {
    return new AuditPruner(
      Database.of(dataSource),
      { auditRetentionDays: retentionDays },
      { batchSize, pauseMs: 1 },
    );
  }

  it('deletes exactly the events older than the retention, in batches, and keeps the rest and their connections', async () => {
    await appendEvents(1_200, 120);
    await appendEvents(1_000, 91);
    await appendEvents(800, 89);
    await appendEvents(500, 0);

    const result = await pruner(90).run();

    expect(result).toEqual({ ran: true, deleted: 2_200, batches: 5 });
    expect(await ages()).toEqual({ 89: 800, 0: 500 });
    expect(
      await database.query('SELECT count(*)::int AS count FROM connections'),
    ).toEqual([{ count: 4 }]);
    // Nothing left to do: one empty batch.
    expect(await pruner(90).run()).toEqual({
      ran: true,
      deleted: 0,
      batches: 1,
    });
  });

  it('keeps everything at 0', async () => {
    await appendEvents(1_000, 3_000);

    expect(await pruner(0).run()).toEqual({
      ran: false,
      deleted: 0,
      batches: 0,
    });
    expect(await ages()).toEqual({ 3000: 1_000 });
  });

  it('leaves the work to the replica holding the lock, and takes it once that one is done', async () => {
    await appendEvents(600, 100);
    const otherReplica = new Client({
      connectionString: database.url,
      options: `-c search_path=${database.schema}`,
    });
    await otherReplica.connect();
    try {
      await otherReplica.query(
        `SELECT pg_advisory_lock(hashtext('ads-token-keeper:audit-prune:' || current_schema()))`,
      );
      expect(await pruner(90).run()).toEqual({
        ran: false,
        deleted: 0,
        batches: 0,
      });
      expect(await ages()).toEqual({ 100: 600 });

      await otherReplica.query('SELECT pg_advisory_unlock_all()');
      expect(await pruner(90).run()).toEqual({
        ran: true,
        deleted: 600,
        batches: 2,
      });
    } finally {
      await otherReplica.end();
    }
  });

  it('releases its lock and connection after a run, even a failed one', async () => {
    await appendEvents(10, 100);
    const broken = new AuditPruner(
      Database.of(dataSource),
      // A retention PostgreSQL refuses (make_interval's days is an integer): the DELETE fails.
      { auditRetentionDays: 1.5 },
      { batchSize: 500, pauseMs: 1 },
    );
    expect(await broken.run()).toEqual({ ran: true, deleted: 0, batches: 0 });

    expect(
      await database.query(
        `SELECT pg_try_advisory_lock(hashtext('ads-token-keeper:audit-prune:' || current_schema())) AS free`,
      ),
    ).toEqual([{ free: true }]);
    await database.query('SELECT pg_advisory_unlock_all()');
    expect(await pruner(90).run()).toMatchObject({ ran: true, deleted: 10 });
  });

  it("measures the age on the database's clock, to the second", async () => {
    await database.query(
      `INSERT INTO audit_events (type, actor, created_at) VALUES
         ('login', 'admin', now() - interval '30 days' - interval '5 seconds'),
         ('login', 'admin', now() - interval '30 days' + interval '1 minute')`,
    );
    expect(await pruner(30).run()).toMatchObject({ deleted: 1 });
    expect(
      await database.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM audit_events',
      ),
    ).toEqual([{ count: 1 }]);
  });
});
