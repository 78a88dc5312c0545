import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { seedEncryptedRows } from '../../test/seed-secrets';
import { startTestApp } from '../../test/test-app';
import { AuditService } from '../audit/audit.service';
import { OAuthStateEntity } from '../connect/oauth-state.entity';
import { Database } from '../database/database';
import { ConnectionEntity } from '../connections/connection.entity';
import { KeyRing } from './key-ring';
import { KeyRotationService } from './key-rotation.service';
import { KeyUsageService } from './key-usage.service';

/** Every row of every table in the schema, as text. */
async function dumpEveryTable(database: TestDatabase): Promise<string> {
  const tables = await database.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    [database.schema],
  );
  const dumps: string[] = [];
  for (const { table_name } of tables) {
    const rows = await database.query<{ row: string }>(
      `SELECT t::text AS row FROM "${database.schema}"."${table_name}" t`,
    );
    dumps.push(table_name, ...rows.map((row) => row.row));
  }
  return dumps.join('\n');
}

describe('secrets at rest', () => {
  const [primaryKey, oldKey] = [Fernet.generateKey(), Fernet.generateKey()];
  const canary = `canary${randomBytes(6).toString('hex')}`;
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(database, {
      FERNET_KEYS: `${primaryKey},${oldKey}`,
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('never holds a plaintext token, verifier or key: a dump of every table finds no canary', async () => {
    const dataSource = app.get(Database).dataSource;
    const connections = dataSource.getRepository(ConnectionEntity);
    const states = dataSource.getRepository(OAuthStateEntity);
    const fields = { region: 'na' as const, status: 'active' as const };

    const saved = await connections.save(
      connections.create({
        ...fields,
        label: 'saved',
        accessToken: `Atza|${canary}-a1`,
        refreshToken: `Atzr|${canary}-r1`,
      }),
    );
    await connections.save({ id: saved.id, accessToken: `Atza|${canary}-a2` });
    await connections.update(
      { id: saved.id },
      { accessToken: `Atza|${canary}-a3`, refreshToken: `Atzr|${canary}-r3` },
    );
    await connections
      .createQueryBuilder()
      .insert()
      .values({
        ...fields,
        label: 'inserted',
        accessToken: `Atza|${canary}-a4`,
        refreshToken: `Atzr|${canary}-r4`,
      })
      .execute();
    const state = await states.save(
      states.create({
        stateHash: 'state-hash',
        codeVerifier: `${canary}-verifier`.padEnd(43, 'v'),
        region: 'eu',
        sessionBindingHash: 'binding',
        expiresAt: new Date(Date.now() + 600_000),
      }),
    );
    await states.update(
      { id: state.id },
      { codeVerifier: `${canary}-verifier-2`.padEnd(43, 'v') },
    );
    // Rows an older release wrote under the old key, then moved by a rotation (which writes audit).
    const legacy = await seedEncryptedRows(database, oldKey, {
      connections: 20,
      oauthStates: 5,
      prefix: 'legacy',
    });
    await new KeyRotationService(
      app.get(Database),
      app.get(KeyRing),
      app.get(AuditService),
      app.get(KeyUsageService),
    ).rotate({ batchSize: 8 });

    const dump = await dumpEveryTable(database);
    const legacySecrets = [
      ...[...legacy.connections.values()].flatMap(
        ({ accessToken, refreshToken }) => [accessToken, refreshToken],
      ),
      ...legacy.oauthStates.values(),
    ];

    expect(dump).toContain('saved');
    expect(dump).toContain('legacy-connection-1');
    expect(dump).toContain('key_rotated');
    expect(dump).not.toContain(canary);
    expect(dump).not.toContain(Buffer.from(canary).toString('base64'));
    expect(legacySecrets.filter((secret) => dump.includes(secret))).toEqual([]);
    expect(dump).not.toMatch(/legacy-(access|refresh|verifier)/);
    for (const key of [primaryKey, oldKey])
      expect(dump).not.toContain(key.slice(0, 24));
    // And the application still reads them.
    await expect(
      connections.findOneByOrFail({ id: saved.id }),
    ).resolves.toMatchObject({
      accessToken: `Atza|${canary}-a3`,
      refreshToken: `Atzr|${canary}-r3`,
    });
  });
});
