import { Database } from '../database/database';
import { Fernet, keyIdOf } from '@keeper/fernet';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { openTestDataSource } from '../../test/test-data-source';
import { seedEncryptedRows } from '../../test/seed-secrets';
import { startTestApp } from '../../test/test-app';
import { AuditService } from '../audit/audit.service';
import { KeyRing } from './key-ring';
import { KeyRotationService } from './key-rotation.service';
import { KeyUsageService } from './key-usage.service';
import { describeUsage } from './keys.command';

class SimulatedCrash extends Error {}

const SEEDED_AT = 1_700_000_000;

/** The Fernet timestamp of a token, in Unix seconds. */
function timestampOf(token: string): number {
  return Number(Buffer.from(token, 'base64url').readBigUInt64BE(1));
}

describe(KeyRotationService.name, () => {
  const [oldKey, newKey] = [Fernet.generateKey(), Fernet.generateKey()];
  let database: TestDatabase;
  let dataSource: DataSource;

  /** A fresh service, as a new `npm run keys -- rotate` process would build it. */
  const servicesWith = (keys: string[]) => {
    const keyRing = new KeyRing(keys);
    const source = Database.of(dataSource);
    const usage = new KeyUsageService(source, keyRing);
    return {
      sut: new KeyRotationService(
        source,
        keyRing,
        new AuditService(source),
        usage,
      ),
      usage,
    };
  };
  const rowsPerKeyId = async (table: string) =>
    Object.fromEntries(
      (
        await database.query<{ key_id: string; rows: number }>(
          `SELECT key_id, count(*)::int AS rows FROM ${table} GROUP BY key_id`,
        )
      ).map((row) => [row.key_id, row.rows]),
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openTestDataSource(database);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('killed half-way and run again, ends with every row under the primary, every secret unchanged, the old key removable', async () => {
    const seeded = await seedEncryptedRows(database, oldKey, {
      connections: 2_600,
      oauthStates: 600,
      prefix: 'bulk',
      encryptedAt: SEEDED_AT,
    });

    const crashed = servicesWith([newKey, oldKey]).sut.rotate({
      batchSize: 250,
      onBatchCommitted: (batch) => {
        if (batch.batchesCommitted === 6) throw new SimulatedCrash();
      },
    });
    await expect(crashed).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await rowsPerKeyId('connections')).toEqual({
      [keyIdOf(newKey)]: 1_500,
      [keyIdOf(oldKey)]: 1_100,
    });
    expect(await rowsPerKeyId('oauth_states')).toEqual({
      [keyIdOf(oldKey)]: 600,
    });

    const { sut, usage } = servicesWith([newKey, oldKey]);
    const summary = await sut.rotate({ batchSize: 250 });

    expect(summary).toMatchObject({
      toKeyId: keyIdOf(newKey),
      rowsReEncrypted: 1_700,
      rowsByTable: { connections: 1_100, oauth_states: 600 },
      rowsByFromKeyId: { [keyIdOf(oldKey)]: 1_700 },
      rowsLeft: 0,
      unreadableRows: [],
      rowsUnderMissingKeys: 0,
      complete: true,
    });
    expect(await rowsPerKeyId('connections')).toEqual({
      [keyIdOf(newKey)]: 2_600,
    });
    expect(await rowsPerKeyId('oauth_states')).toEqual({
      [keyIdOf(newKey)]: 600,
    });

    const newOnly = new Fernet(newKey);
    const connections = await database.query<{
      label: string;
      access_token_ciphertext: string;
      refresh_token_ciphertext: string;
    }>(
      'SELECT label, access_token_ciphertext, refresh_token_ciphertext FROM connections',
    );
    expect(connections).toHaveLength(2_600);
    for (const row of connections) {
      expect({
        accessToken: newOnly.decrypt(row.access_token_ciphertext).toString(),
        refreshToken: newOnly.decrypt(row.refresh_token_ciphertext).toString(),
      }).toEqual(seeded.connections.get(row.label));
      expect(timestampOf(row.access_token_ciphertext)).toBe(SEEDED_AT);
    }
    const states = await database.query<{
      state_hash: string;
      code_verifier_ciphertext: string;
    }>('SELECT state_hash, code_verifier_ciphertext FROM oauth_states');
    expect(states).toHaveLength(600);
    for (const row of states) {
      expect(newOnly.decrypt(row.code_verifier_ciphertext).toString()).toBe(
        seeded.oauthStates.get(row.state_hash),
      );
    }

    const audit = await database.query<{
      actor: string;
      details: Record<string, unknown>;
    }>("SELECT actor, details FROM audit_events WHERE type = 'key_rotated'");
    expect(audit).toEqual([
      {
        actor: 'cli',
        details: {
          toKeyId: keyIdOf(newKey),
          fromKeyIds: `${keyIdOf(oldKey)}=1700`,
          rowsReEncrypted: 1_700,
          rowsByTable: 'connections=1100, oauth_states=600',
          rowsLeft: 0,
          rowsUnreadable: 0,
          complete: true,
        },
      },
    ]);

    const status = await usage.usage();
    expect(status).toMatchObject({
      rowsUnderOldKeys: 0,
      rowsUnderMissingKeys: 0,
      removableKeyIds: [keyIdOf(oldKey)],
    });
    expect(describeUsage(status)).toContain(
      `Key id(s) ${keyIdOf(oldKey)} hold no rows: remove them from FERNET_KEYS`,
    );

    const app = await startTestApp(
      { url: database.url, schema: database.schema },
      { FERNET_KEYS: newKey },
    );
    try {
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.json()).toMatchObject({
        details: { keys: { status: 'up' } },
      });
      expect(ready.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  describe('beside a transaction that holds a row locked', () => {
    let lockHolder: Client;
    let lockedId: string;

    beforeEach(async () => {
      await database.query('DELETE FROM connections');
      await seedEncryptedRows(database, oldKey, {
        connections: 40,
        oauthStates: 0,
        prefix: 'locked',
      });
      lockHolder = new Client({
        connectionString: database.url,
        options: `-c search_path=${database.schema}`,
      });
      await lockHolder.connect();
      await lockHolder.query('BEGIN');
      const { rows } = await lockHolder.query<{ id: string }>(
        // One row in the middle (a locking SELECT with OFFSET would also lock the rows it skips).
        'SELECT id FROM connections WHERE id = (SELECT id FROM connections WHERE key_id = $1 ORDER BY id OFFSET 17 LIMIT 1) FOR UPDATE',
        [keyIdOf(oldKey)],
      );
      lockedId = rows[0].id;
    });

    afterEach(async () => {
      await lockHolder.query('ROLLBACK').catch(() => undefined);
      await lockHolder.end();
    });

    it('re-encrypts the rest, waits a bounded time, and reports the row it could not take', async () => {
      const summary = await servicesWith([newKey, oldKey]).sut.rotate({
        batchSize: 7,
        lockWaitMs: 300,
      });

      expect(summary).toMatchObject({
        rowsReEncrypted: 39,
        rowsLeft: 1,
        complete: false,
      });
      expect(await rowsPerKeyId('connections')).toMatchObject({
        [keyIdOf(oldKey)]: 1,
      });
    });

    it('picks the locked row up once the other transaction ends', async () => {
      const rotation = servicesWith([newKey, oldKey]).sut.rotate({
        batchSize: 7,
        lockWaitMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Everything else is committed while the lock is still held.
      const meanwhile = await lockHolder.query<{ key_id: string }>(
        'SELECT DISTINCT key_id FROM connections WHERE id <> $1',
        [lockedId],
      );
      expect(meanwhile.rows).toEqual([{ key_id: keyIdOf(newKey) }]);
      await lockHolder.query('COMMIT');

      const summary = await rotation;

      expect(summary).toMatchObject({
        rowsReEncrypted: 40,
        rowsLeft: 0,
        complete: true,
      });
      const [row] = await database.query<{ key_id: string }>(
        'SELECT key_id FROM connections WHERE id = $1',
        [lockedId],
      );
      expect(row.key_id).toBe(keyIdOf(newKey));
    });
  });
});
