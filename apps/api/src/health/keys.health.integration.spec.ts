import { Fernet, keyIdOf } from '@keeper/fernet';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { DataSourceProvider } from '../database/data-source-provider';
import { ConnectionEntity } from '../token/connection.entity';
import { KeysHealthIndicator } from './keys.health';

describe(KeysHealthIndicator.name, () => {
  const [removedKey, currentKey] = [Fernet.generateKey(), Fernet.generateKey()];
  let database: TestDatabase;

  const readiness = async (fernetKeys: string) => {
    const app = await startTestApp(database, { FERNET_KEYS: fernetKeys });
    try {
      const response = await app.inject({ method: 'GET', url: '/health/ready' });
      return { statusCode: response.statusCode, body: response.body, json: response.json() };
    } finally {
      await app.close();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const app = await startTestApp(database, { FERNET_KEYS: removedKey });
    try {
      const connections = app.get(DataSourceProvider).dataSource.getRepository(ConnectionEntity);
      for (const label of ['one', 'two']) {
        await connections.save(
          connections.create({ label, region: 'na', status: 'active', accessToken: 'Atza|x', refreshToken: 'Atzr|x' }),
        );
      }
    } finally {
      await app.close();
    }
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('is down, naming key ids and never keys, when a stored row is under a key FERNET_KEYS no longer holds', async () => {
    const sut = await readiness(currentKey);

    expect(sut.statusCode).toBe(503);
    expect(Object.keys(sut.json.details)[0]).toBe('database');
    expect(sut.json.details).toMatchObject({
      database: { status: 'up' },
      keys: {
        status: 'down',
        message: `2 stored row(s) are encrypted under key id(s) ${keyIdOf(removedKey)} that FERNET_KEYS no longer holds`,
        missingKeyIds: [keyIdOf(removedKey)],
      },
    });
    expect(sut.body).not.toContain(removedKey.slice(0, 16));
    expect(sut.body).not.toContain(currentKey.slice(0, 16));
  });

  it('is up again once the key is configured (as an old key) again', async () => {
    const sut = await readiness(`${currentKey},${removedKey}`);

    expect(sut.json.details).toMatchObject({ keys: { status: 'up' } });
    expect(sut.statusCode).toBe(200);
  });
});
