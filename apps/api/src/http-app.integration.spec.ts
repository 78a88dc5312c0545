import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, TestDatabase } from '../test/test-database';
import { startTestApp } from '../test/test-app';
import { logIn, TEST_ADMIN_PASSWORD } from '../test/connect-flow';

describe('the API over HTTP', () => {
  let database: TestDatabase;
  let sut: NestFastifyApplication;
  const logged: string[] = [];
  let stdoutWrite: jest.SpyInstance;

  beforeAll(async () => {
    stdoutWrite = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });
    database = await createTestDatabase();
    sut = await startTestApp(database, {
      LOG_LEVEL: 'info',
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    });
  });

  afterAll(async () => {
    await sut?.close();
    await database?.drop();
    stdoutWrite.mockRestore();
  });

  it('is ready once the database answers and the migrations are applied', async () => {
    const response = await sut.inject({ method: 'GET', url: '/health/ready' });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'ok',
      details: { database: { status: 'up' }, migrations: { status: 'up' } },
    });
    const tables = await database.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [database.schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
        'audit_events',
        'connections',
        'oauth_states',
        'schema_migrations',
      ]),
    );
  });

  it('answers liveness and the overall health', async () => {
    expect(
      (await sut.inject({ method: 'GET', url: '/health/live' })).json(),
    ).toEqual({ status: 'ok' });
    expect(
      (await sut.inject({ method: 'GET', url: '/health' })).statusCode,
    ).toBe(200);
  });

  it('echoes a caller-given correlation id and replaces an unacceptable one', async () => {
    const kept = await sut.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'job-42.a' },
    });
    const replaced = await sut.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'no spaces <>' },
    });

    expect(kept.headers['x-request-id']).toBe('job-42.a');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with the error body and without echoing the query', async () => {
    const response = await sut.inject({
      method: 'GET',
      url: '/api/v1/nowhere?code=ANsecretcode&state=s1',
      headers: { 'x-request-id': 'corr-404' },
    });

    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /api/v1/nowhere',
      correlationId: 'corr-404',
    });
  });

  it('answers unparsable JSON with a 400 in the same shape', async () => {
    const response = await sut.inject({
      method: 'POST',
      url: '/api/v1/nowhere',
      headers: { 'content-type': 'application/json' },
      payload: '{"password": ',
    });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      correlationId: expect.any(String),
    });
  });

  describe('deeply nested or oversized JSON bodies', () => {
    const nested = (depth: number) =>
      `{"password":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const linesOf = (correlationId: string) =>
      logged
        .join('')
        .split('\n')
        .filter((line) => line.includes(correlationId))
        .map((line) => JSON.parse(line));

    it('answers 400 to a body nested 2,000 deep on the login route, with one warn line and no stack', async () => {
      const response = await sut.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers: {
          'content-type': 'application/json',
          'x-request-id': 'deep-login',
        },
        payload: nested(2000),
        remoteAddress: '10.77.0.1',
      });

      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'The request body is nested too deeply: at most 32 levels.',
        correlationId: 'deep-login',
      });
      const lines = linesOf('deep-login');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, res: { statusCode: 400 } });
      expect(logged.join('')).not.toMatch(/Maximum call stack|RangeError/);
    });

    it('answers 400 to a nested label on PATCH /connections/:id, logged in', async () => {
      const cookie = await logIn(sut);
      const response = await sut.inject({
        method: 'PATCH',
        url: '/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
        headers: {
          cookie,
          'content-type': 'application/json',
          'x-request-id': 'deep-patch',
        },
        payload: `{"label":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
      });

      expect(response.statusCode).toBe(400);
      expect(response.json().message).toBe(
        'The request body is nested too deeply: at most 32 levels.',
      );
      expect(linesOf('deep-patch').filter((line) => line.level >= 50)).toEqual(
        [],
      );
    });

    it('answers 400 to a body with too many values, and still parses ordinary bodies and brackets inside strings', async () => {
      const many = await sut.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers: { 'content-type': 'application/json' },
        payload: `{"password":[${Array(10_001).fill(0).join(',')}]}`,
        remoteAddress: '10.77.0.2',
      });
      const stringy = await sut.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          password: `wrong ${'[{'.repeat(50)} " ${'}]'.repeat(50)}`,
        }),
        remoteAddress: '10.77.0.3',
      });

      expect(many.statusCode).toBe(400);
      expect(many.json().message).toBe(
        'The request body holds too many values: at most 10000.',
      );
      expect(stringy.statusCode).toBe(401);
    });
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const document = await sut.inject({ method: 'GET', url: '/api/docs-json' });
    const ui = await sut.inject({ method: 'GET', url: '/api/docs' });

    expect(document.json()).toMatchObject({
      openapi: expect.any(String),
      paths: { '/health/ready': expect.any(Object) },
    });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });

  it('sends security headers', async () => {
    const response = await sut.inject({ method: 'GET', url: '/health/live' });

    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': expect.stringContaining("default-src 'self'"),
    });
  });

  it('logs JSON lines with the correlation id and never the secrets in a request', async () => {
    await sut.inject({
      method: 'GET',
      url: '/api/v1/nowhere?code=ANcanarycode&state=canarystate',
      headers: {
        'x-request-id': 'corr-log',
        authorization: 'Bearer canary-bearer',
        cookie: 'atk=canary-cookie',
      },
    });

    const lines = logged
      .join('')
      .split('\n')
      .filter((line) => line.includes('corr-log'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toMatch(/canary/);
    }
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({
      req: { id: 'corr-log' },
      res: { statusCode: 404 },
    });
  });

  it('keeps probes and scrapes out of the request log', async () => {
    await sut.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'quiet-live' },
    });
    await sut.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-request-id': 'quiet-metrics' },
    });
    await sut.inject({
      method: 'GET',
      url: '/health/ready',
      headers: { 'x-request-id': 'loud-ready' },
    });

    const text = logged.join('');
    expect(text).not.toContain('quiet-live');
    expect(text).not.toContain('quiet-metrics');
    expect(text).toContain('loud-ready');
  });
});
