import { Database } from '../database/database';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditNotification, eventsChannel } from './events-channel';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { openTestDataSource } from '../../test/test-data-source';
import { AuditService } from './audit.service';

describe(AuditService.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let sut: AuditService;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openTestDataSource(database);
    sut = new AuditService(Database.of(dataSource));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('appends an event', async () => {
    const event = await sut.record({
      type: 'key_rotated',
      actor: 'cli',
      details: { rowsReEncrypted: 3 },
    });

    expect(event).toMatchObject({
      id: expect.any(String),
      connectionId: null,
      correlationId: null,
      createdAt: expect.any(Date),
    });
    expect(
      await database.query(
        'SELECT type, actor, details FROM audit_events WHERE id = $1',
        [event.id],
      ),
    ).toEqual([
      { type: 'key_rotated', actor: 'cli', details: { rowsReEncrypted: 3 } },
    ]);
  });

  it("announces the event on the schema's channel with exactly the ids listeners read, once committed", async () => {
    const listener = new Client({ connectionString: database.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (message) =>
        heard.push(message.payload ?? ''),
      );
      await listener.query(`LISTEN "${eventsChannel(database.schema)}"`);

      const event = await sut.record({
        type: 'disconnected',
        actor: 'admin',
        connectionId: null,
      });
      await dataSource
        .transaction(async (manager) => {
          await sut.record(
            { type: 'login_failed', actor: 'anonymous' },
            manager,
          );
          throw new Error('roll back');
        })
        .catch(() => undefined);
      await listener.query('SELECT 1');

      const expected: AuditNotification = {
        auditEventId: event.id,
        connectionId: null,
      };
      expect(heard.map((payload) => JSON.parse(payload))).toEqual([expected]);
    } finally {
      await listener.end();
    }
  });

  it('appends events with a change in one statement, in order and announced, and none when the change touched no row', async () => {
    const [{ id }] = await database.query<{ id: string }>(
      "INSERT INTO connections (label, region, status, lease_owner) VALUES ('Leased', 'na', 'active', 'replica-a') RETURNING id",
    );
    const listener = new Client({ connectionString: database.url });
    await listener.connect();
    try {
      const heard: AuditNotification[] = [];
      listener.on('notification', (message) =>
        heard.push(JSON.parse(message.payload ?? '')),
      );
      await listener.query(`LISTEN "${eventsChannel(database.schema)}"`);
      const change = (owner: string) => ({
        query:
          'UPDATE connections SET label = $1 WHERE id = $2 AND lease_owner = $3',
        parameters: [`Renamed by ${owner}`, id, owner],
      });
      const events = [
        {
          type: 'refreshed' as const,
          actor: 'scheduler',
          correlationId: 'corr-w',
          details: { durationMs: 5 },
        },
        {
          type: 'recovered' as const,
          actor: 'scheduler',
          correlationId: 'corr-w',
        },
      ];

      await expect(
        sut.recordWithChange(change('replica-b'), events),
      ).resolves.toBe(false);
      await expect(
        sut.recordWithChange(change('replica-a'), events),
      ).resolves.toBe(true);
      await expect(
        sut.recordWithChange(change('replica-a'), []),
      ).rejects.toThrow(/at least one event/);
      await listener.query('SELECT 1');

      const appended = await database.query<{
        id: string;
        type: string;
        details: object;
      }>(
        'SELECT id::text, type, actor, correlation_id, details FROM audit_events WHERE connection_id = $1 ORDER BY id',
        [id],
      );
      expect(appended).toEqual([
        {
          id: expect.any(String),
          type: 'refreshed',
          actor: 'scheduler',
          correlation_id: 'corr-w',
          details: { durationMs: 5 },
        },
        {
          id: expect.any(String),
          type: 'recovered',
          actor: 'scheduler',
          correlation_id: 'corr-w',
          details: {},
        },
      ]);
      expect(
        await database.query('SELECT label FROM connections WHERE id = $1', [
          id,
        ]),
      ).toEqual([{ label: 'Renamed by replica-a' }]);
      expect(heard).toEqual(
        appended.map((event) => ({ auditEventId: event.id, connectionId: id })),
      );
    } finally {
      await listener.end();
    }
  });

  it("writes inside the caller's transaction, so a rolled-back change leaves no event", async () => {
    await expect(
      dataSource.transaction(async (manager) => {
        await sut.record(
          { type: 'login_failed', actor: 'admin', correlationId: 'corr-1' },
          manager,
        );
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');

    expect(
      await database.query(
        "SELECT id FROM audit_events WHERE correlation_id = 'corr-1'",
      ),
    ).toEqual([]);
  });
});
