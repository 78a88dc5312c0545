import { DatabaseSwitch, viaPort } from '../../test/database-switch';
import {
  createTestDatabase,
  TestDatabase,
  testDatabaseUrl,
} from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { DatabaseConfigurationError } from './database.service';

async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not true within ${timeoutMs} ms`);
}

describe('DatabaseService', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
  });

  it('keeps the API alive while PostgreSQL is away and recovers by itself when it returns', async () => {
    const real = new URL(testDatabaseUrl());
    const databaseSwitch = await DatabaseSwitch.onFreePort({
      host: real.hostname,
      port: Number(real.port || 5432),
    });
    const sut = await startTestApp({
      url: viaPort(testDatabaseUrl(), databaseSwitch.port),
      schema: database.schema,
    });
    try {
      expect(
        (await sut.inject({ method: 'GET', url: '/health/live' })).statusCode,
      ).toBe(200);
      const notReady = await sut.inject({
        method: 'GET',
        url: '/health/ready',
      });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({
        status: 'error',
        details: {
          database: {
            status: 'down',
            message: expect.stringContaining('unreachable'),
          },
          keys: {
            status: 'down',
            message: expect.stringMatching(
              /^Cannot read the stored key ids: .*unreachable/,
            ),
          },
        },
      });

      await databaseSwitch.open();

      await eventually(
        async () =>
          (await sut.inject({ method: 'GET', url: '/health/ready' }))
            .statusCode === 200,
        15_000,
      );
    } finally {
      await sut.close();
      await databaseSwitch.close();
    }
  });

  it('answers 503 again when the server goes away after start, and recovers', async () => {
    const real = new URL(testDatabaseUrl());
    const databaseSwitch = await DatabaseSwitch.onFreePort({
      host: real.hostname,
      port: Number(real.port || 5432),
    });
    await databaseSwitch.open();
    const sut = await startTestApp({
      url: viaPort(testDatabaseUrl(), databaseSwitch.port),
      schema: database.schema,
    });
    try {
      expect(
        (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode,
      ).toBe(200);

      await databaseSwitch.close();
      expect(
        (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode,
      ).toBe(503);
      expect(
        (await sut.inject({ method: 'GET', url: '/health/live' })).statusCode,
      ).toBe(200);

      await databaseSwitch.open();
      await eventually(
        async () =>
          (await sut.inject({ method: 'GET', url: '/health/ready' }))
            .statusCode === 200,
        15_000,
      );
    } finally {
      await sut.close();
      await databaseSwitch.close();
    }
  });

  it('refuses to start, with one clear line, when the database does not exist', async () => {
    const missing = new URL(testDatabaseUrl());
    missing.pathname = '/no_such_database_for_keeper';

    await expect(startTestApp({ url: missing.toString() })).rejects.toThrow(
      new DatabaseConfigurationError(
        `Cannot use the database at ${missing.hostname}:${missing.port || 5432}/no_such_database_for_keeper: the database does not exist (check DATABASE_URL).`,
      ),
    );
  });

  it('says the role may not exist when DATABASE_URL names an unknown role', async () => {
    const unknownRole = new URL(testDatabaseUrl());
    // The embedded server checks passwords (scram), and then PostgreSQL answers an unknown role
    // as a wrong password, on purpose; a trust server (CI's) says the role does not exist.
    const passwordAuthentication = unknownRole.password !== '';
    unknownRole.username = 'no_such_role_for_keeper';

    await expect(startTestApp({ url: unknownRole.toString() })).rejects.toThrow(
      new DatabaseConfigurationError(
        `Cannot use the database at ${unknownRole.hostname}:${unknownRole.port || 5432}${unknownRole.pathname}: ` +
          (passwordAuthentication
            ? 'the password was rejected, or the role (user) does not exist: PostgreSQL does not say which'
            : 'the role (user) does not exist') +
          ' (check DATABASE_URL).',
      ),
    );
  });

  it('says the role may not log in when it exists with NOLOGIN', async () => {
    const role =
      `keeper_nologin_${database.schema.replace(/[^a-z0-9_]/gi, '_')}`
        .slice(0, 60)
        .toLowerCase();
    const password = 'nologin-role-password';
    await database.query(
      `CREATE ROLE "${role}" NOLOGIN PASSWORD '${password}'`,
    );
    try {
      const noLogin = new URL(testDatabaseUrl());
      noLogin.username = role;
      noLogin.password = password;

      await expect(startTestApp({ url: noLogin.toString() })).rejects.toThrow(
        /: the role exists but is not allowed to log in \(NOLOGIN\) \(check DATABASE_URL\)\.$/,
      );
    } finally {
      await database.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it('reports pending migrations instead of applying them when DB_MIGRATE=false', async () => {
    const fresh = await createTestDatabase();
    const sut = await startTestApp(
      { url: fresh.url, schema: fresh.schema },
      { DB_MIGRATE: 'false' },
    );
    try {
      const response = await sut.inject({
        method: 'GET',
        url: '/health/ready',
      });

      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        details: { migrations: { status: 'down' } },
      });
    } finally {
      await sut.close();
      await fresh.drop();
    }
  });
});
