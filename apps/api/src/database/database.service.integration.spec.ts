import { DatabaseSwitch, viaPort } from '../../test/database-switch';
import { createTestDatabase, TestDatabase, testDatabaseUrl } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { DatabaseConfigurationError } from './database.service';

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
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
    const databaseSwitch = await DatabaseSwitch.onFreePort({ host: real.hostname, port: Number(real.port || 5432) });
    const sut = await startTestApp({ url: viaPort(testDatabaseUrl(), databaseSwitch.port), schema: database.schema });
    try {
      expect((await sut.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
      const notReady = await sut.inject({ method: 'GET', url: '/health/ready' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({
        status: 'error',
        details: {
          database: { status: 'down', message: expect.stringContaining('unreachable') },
          keys: { status: 'down', message: expect.stringMatching(/^Cannot count the stored rows per key id: .*unreachable/) },
        },
      });

      await databaseSwitch.open();

      await eventually(async () => (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, 15_000);
    } finally {
      await sut.close();
      await databaseSwitch.close();
    }
  });

  it('answers 503 again when the server goes away after start, and recovers', async () => {
    const real = new URL(testDatabaseUrl());
    const databaseSwitch = await DatabaseSwitch.onFreePort({ host: real.hostname, port: Number(real.port || 5432) });
    await databaseSwitch.open();
    const sut = await startTestApp({ url: viaPort(testDatabaseUrl(), databaseSwitch.port), schema: database.schema });
    try {
      expect((await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);

      await databaseSwitch.close();
      expect((await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
      expect((await sut.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);

      await databaseSwitch.open();
      await eventually(async () => (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, 15_000);
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

  it('reports pending migrations instead of applying them when DB_MIGRATE=false', async () => {
    const fresh = await createTestDatabase();
    const sut = await startTestApp({ url: fresh.url, schema: fresh.schema }, { DB_MIGRATE: 'false' });
    try {
      const response = await sut.inject({ method: 'GET', url: '/health/ready' });

      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ details: { migrations: { status: 'down' } } });
    } finally {
      await sut.close();
      await fresh.drop();
    }
  });
});
