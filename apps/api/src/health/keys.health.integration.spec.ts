import { Fernet, keyIdOf } from '@keeper/fernet';
import { seedEncryptedRows } from '../../test/seed-secrets';
import { openTestDataSource } from '../../test/test-data-source';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp, testConfig } from '../../test/test-app';
import { KeyRingError } from '../crypto/key-ring.loader';
import { createHttpApp } from '../http-app';
import { Database } from '../database/database';
import { ConnectionEntity } from '../connections/connection.entity';
import { KeysHealthIndicator } from './keys.health';

describe(KeysHealthIndicator.name, () => {
  const [removedKey, currentKey] = [Fernet.generateKey(), Fernet.generateKey()];
  let database: TestDatabase;

  const readiness = async (fernetKeys: string) => {
    const app = await startTestApp(database, { FERNET_KEYS: fernetKeys });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/health/ready',
      });
      return {
        statusCode: response.statusCode,
        body: response.body,
        json: response.json(),
      };
    } finally {
      await app.close();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const app = await startTestApp(database, { FERNET_KEYS: removedKey });
    try {
      const connections = app
        .get(Database)
        .dataSource.getRepository(ConnectionEntity);
      for (const label of ['one', 'two']) {
        await connections.save(
          connections.create({
            label,
            region: 'na',
            status: 'active',
            accessToken: 'Atza|x',
            refreshToken: 'Atzr|x',
          }),
        );
      }
    } finally {
      await app.close();
    }
    // One row the configured key reads, so the API starts (a key ring that reads no stored row
    // at all is refused at start: see below).
    await seedEncryptedRows(database, currentKey, {
      connections: 1,
      oauthStates: 0,
      prefix: 'current',
    });
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

  it('sees a row under an unknown key at the next probe, not at a later cache refresh, and up again once it is gone', async () => {
    const app = await startTestApp(database, {
      FERNET_KEYS: `${currentKey},${removedKey}`,
    });
    const ready = async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/health/ready',
      });
      return { statusCode: response.statusCode, json: response.json() };
    };
    try {
      expect((await ready()).statusCode).toBe(200);
      await database.query(
        `UPDATE connections SET key_id = 'ffffffffffffffff' WHERE label = 'one'`,
      );
      try {
        const down = await ready();
        expect(down.statusCode).toBe(503);
        expect(down.json.details.keys).toEqual({
          status: 'down',
          message:
            '1 stored row(s) are encrypted under key id(s) ffffffffffffffff that FERNET_KEYS no longer holds',
          missingKeyIds: ['ffffffffffffffff'],
        });
      } finally {
        await database.query(
          `UPDATE connections SET key_id = $1 WHERE label = 'one'`,
          [keyIdOf(removedKey)],
        );
      }
      expect((await ready()).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

/** A one-character change that still decodes to 32 bytes: a valid key, just not this one. */
function typoOf(key: string): string {
  const replacement = key[0] === 'A' ? 'B' : 'A';
  return `${replacement}${key.slice(1)}`;
}

describe('starting with a key that reads none of the stored secrets', () => {
  const storedKey = Fernet.generateKey();
  let database: TestDatabase;

  /** Builds and initialises the API as main.ts does; the error it refuses to start with, if any. */
  const startError = async (fernetKeys: string): Promise<unknown> => {
    const app = await createHttpApp(
      testConfig({ FERNET_KEYS: fernetKeys }),
      database,
    );
    try {
      await app.init();
      return undefined;
    } catch (error) {
      return error;
    } finally {
      await app.close();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await (await openTestDataSource(database)).destroy();
    await seedEncryptedRows(database, storedKey, {
      connections: 2,
      oauthStates: 1,
      prefix: 'stored',
    });
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('refuses to start when one character of the key is wrong, naming stored and configured key ids, never keys', async () => {
    const typo = typoOf(storedKey);
    expect(keyIdOf(typo)).not.toBe(keyIdOf(storedKey));

    const error = await startError(typo);

    expect(error).toBeInstanceOf(KeyRingError);
    const message = (error as Error).message;
    expect(message).toContain(
      'None of the 3 stored secret(s) is under a key in FERNET_KEYS',
    );
    expect(message).toContain(`under key id(s) ${keyIdOf(storedKey)}`);
    expect(message).toContain(`FERNET_KEYS holds key id(s) ${keyIdOf(typo)}`);
    expect(message).toContain('a typo in a key, not a rotation');
    expect(message).not.toContain(storedKey.slice(1, 20));
    const [{ rows }] = await database.query<{ rows: number }>(
      'SELECT count(*)::int AS rows FROM connections WHERE key_id = $1',
      [keyIdOf(typo)],
    );
    expect(rows).toBe(0);
  });

  it('starts during a rotation (the new key first, the stored one after it) and with the stored key alone', async () => {
    expect(
      await startError(`${Fernet.generateKey()},${storedKey}`),
    ).toBeUndefined();
    expect(await startError(storedKey)).toBeUndefined();
  });

  it('starts with any key on an empty database', async () => {
    const empty = await createTestDatabase();
    try {
      const app = await startTestApp(empty, {
        FERNET_KEYS: Fernet.generateKey(),
      });
      await app.close();
    } finally {
      await empty.drop();
    }
  });
});
