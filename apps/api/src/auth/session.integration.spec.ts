import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { createHash } from 'node:crypto';
import {
  cookiesFrom,
  logIn,
  TEST_ADMIN_PASSWORD,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';

const SERVICE_KEY = 'svc-key-for-reporting-jobs-0001';

/** The stored id of a session: the SHA-256 of the random id in its cookie (`atk_session=<id>.<signature>`). */
const hashOf = (cookie: string) =>
  createHash('sha256')
    .update(cookie.slice('atk_session='.length).split('.')[0])
    .digest('hex');

describe('admin session and route protection', () => {
  let database: TestDatabase;
  let sut: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    sut = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      FERNET_KEYS: Fernet.generateKey(),
      SERVICE_API_KEYS: SERVICE_KEY,
    });
  });

  afterAll(async () => {
    await sut?.close();
    await database?.drop();
  });

  it('logs in with the password: an httpOnly, SameSite=Strict cookie that opens admin routes', async () => {
    const response = await sut.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { password: TEST_ADMIN_PASSWORD },
      remoteAddress: '10.1.1.1',
    });

    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      authenticated: true,
      expiresAt: expect.any(String),
    });
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^atk_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/,
    );
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');

    const cookie = `atk_session=${cookiesFrom(response).atk_session}`;
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/session',
          headers: { cookie },
        })
      ).json(),
    ).toMatchObject({
      authenticated: true,
    });
  });

  it('sets a Secure cookie when served over https behind a proxy that TRUST_PROXY names, and only then', async () => {
    const login = (app: NestFastifyApplication) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { password: TEST_ADMIN_PASSWORD },
        headers: { 'x-forwarded-proto': 'https' },
        remoteAddress: '10.1.1.2',
      });
    const behindProxy = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      TRUST_PROXY: '10.1.1.0/24',
    });
    try {
      expect(
        String((await login(behindProxy)).headers['set-cookie']),
      ).toContain('Secure');
    } finally {
      await behindProxy.close();
    }
    // Without TRUST_PROXY a client's own X-Forwarded-Proto is not believed.
    expect(String((await login(sut)).headers['set-cookie'])).not.toContain(
      'Secure',
    );
  });

  it('refuses a wrong password and audits it, without the attempt in the audit row', async () => {
    const response = await sut.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { password: 'wrong-guess-canary' },
      remoteAddress: '10.0.0.7',
    });

    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      statusCode: 401,
      message: 'That password is not right.',
    });
    const rows = await database.query<{
      type: string;
      details: Record<string, string>;
    }>("SELECT type, details FROM audit_events WHERE type = 'login_failed'");
    expect(rows).toEqual([
      expect.objectContaining({ details: { ip: '10.0.0.7' } }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('canary');
  });

  it('rejects a malformed login body with a clear 400', async () => {
    const response = await sut.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { password: 42, extra: true },
      remoteAddress: '10.1.1.3',
    });

    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(
      /property extra should not exist|password must be a string/,
    );
  });

  it('rate-limits login attempts per address with Retry-After', async () => {
    const attempt = () =>
      sut.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { password: 'nope' },
        remoteAddress: '10.9.9.9',
      });
    const statuses: number[] = [];
    for (let index = 0; index < 6; index += 1)
      statuses.push((await attempt()).statusCode);

    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await attempt();
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.json()).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message:
        'Too many login attempts from this address: wait a minute and try again.',
    });
  });

  it.each([
    ['GET', '/api/v1/connections'],
    ['GET', '/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12'],
    ['PATCH', '/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12'],
    ['DELETE', '/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12'],
    ['GET', '/api/v1/audit-events'],
    ['GET', '/api/v1/auth/amazon/start?region=na'],
    ['DELETE', '/api/v1/session'],
  ] as const)(
    'answers 401 to %s %s without a session, also with a service key',
    async (method, url) => {
      const anonymous = await sut.inject({ method, url });
      const withServiceKey = await sut.inject({
        method,
        url,
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });
      const forgedCookie = await sut.inject({
        method,
        url,
        headers: { cookie: `atk_session=${'a'.repeat(43)}.${'b'.repeat(43)}` },
      });

      for (const response of [anonymous, withServiceKey, forgedCookie]) {
        expect(response.statusCode).toBe(401);
        expect(response.json()).toMatchObject({
          message: 'Log in first: this route needs an admin session.',
        });
      }
    },
  );

  it('refuses state-changing admin requests from another site', async () => {
    const cookie = await logIn(sut);
    const url = '/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';
    const fromElsewhere = await sut.inject({
      method: 'DELETE',
      url,
      headers: { cookie, origin: 'https://evil.example' },
    });
    const crossSite = await sut.inject({
      method: 'DELETE',
      url,
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    });
    const fromConsole = await sut.inject({
      method: 'DELETE',
      url,
      headers: { cookie, origin: 'http://localhost:4200' },
    });

    expect(fromElsewhere.statusCode).toBe(403);
    expect(crossSite.statusCode).toBe(403);
    expect(fromConsole.statusCode).toBe(404);
  });

  it('logs out: the session stops working and the cookie is cleared', async () => {
    const cookie = await logIn(sut);
    const response = await sut.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie },
    });

    expect(response.statusCode).toBe(204);
    expect(String(response.headers['set-cookie'])).toMatch(/atk_session=;/);
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('ends a session when it expires', async () => {
    const cookie = await logIn(sut);
    await database.query(
      "UPDATE admin_sessions SET expires_at = now() - interval '1 second'",
    );

    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('ends a session idle for longer than SESSION_IDLE_MINUTES (30 by default), even before its 12 h', async () => {
    const [idle, recent] = [await logIn(sut), await logIn(sut)];
    await database.query(
      "UPDATE admin_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1",
      [hashOf(idle)],
    );
    await database.query(
      "UPDATE admin_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id_hash = $1",
      [hashOf(recent)],
    );

    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie: idle },
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/session',
          headers: { cookie: idle },
        })
      ).json(),
    ).toMatchObject({
      authenticated: false,
    });
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie: recent },
        })
      ).statusCode,
    ).toBe(200);
    // The request counted as activity: last seen now, so the session lives 30 more minutes.
    const [seen] = await database.query<{ idle_seconds: number }>(
      'SELECT extract(epoch FROM now() - last_seen_at)::int AS idle_seconds FROM admin_sessions WHERE id_hash = $1',
      [hashOf(recent)],
    );
    expect(seen.idle_seconds).toBeLessThan(60);
    // The idle one is not revived by being asked about.
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie: idle },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('keeps an active session alive under a one-minute idle timeout (activity recorded every 15 s)', async () => {
    const short = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      FERNET_KEYS: Fernet.generateKey(),
      SESSION_IDLE_MINUTES: '1',
    });
    try {
      const cookie = await logIn(short);
      const hash = hashOf(cookie);
      await database.query(
        "UPDATE admin_sessions SET last_seen_at = now() - interval '40 seconds' WHERE id_hash = $1",
        [hash],
      );
      const ask = () =>
        short.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie },
        });

      expect((await ask()).statusCode).toBe(200);
      const [seen] = await database.query<{ idle_seconds: number }>(
        'SELECT extract(epoch FROM now() - last_seen_at)::int AS idle_seconds FROM admin_sessions WHERE id_hash = $1',
        [hash],
      );
      // Recorded, so 30 s later (70 s after the first request) the session still lives.
      expect(seen.idle_seconds).toBeLessThan(10);
      await database.query(
        "UPDATE admin_sessions SET last_seen_at = last_seen_at - interval '30 seconds' WHERE id_hash = $1",
        [hash],
      );
      expect((await ask()).statusCode).toBe(200);
    } finally {
      await short.close();
    }
  });

  it('writes last_seen_at at most once a minute, not on every request', async () => {
    const cookie = await logIn(sut);
    const hash = hashOf(cookie);
    await database.query(
      "UPDATE admin_sessions SET last_seen_at = now() - interval '20 seconds' WHERE id_hash = $1",
      [hash],
    );
    const before = await database.query<{ last_seen_at: Date }>(
      'SELECT last_seen_at FROM admin_sessions WHERE id_hash = $1',
      [hash],
    );

    for (let index = 0; index < 3; index += 1) {
      expect(
        (
          await sut.inject({
            method: 'GET',
            url: '/api/v1/connections',
            headers: { cookie },
          })
        ).statusCode,
      ).toBe(200);
    }

    const after = await database.query<{ last_seen_at: Date }>(
      'SELECT last_seen_at FROM admin_sessions WHERE id_hash = $1',
      [hash],
    );
    expect(after[0].last_seen_at.getTime()).toBe(
      before[0].last_seen_at.getTime(),
    );
  });

  it('tells sessions apart when their requests arrive at once (their lookups share one statement)', async () => {
    const [live, ended] = [await logIn(sut), await logIn(sut)];
    await sut.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie: ended },
    });
    const forged = `${live.split('.')[0]}.${'A'.repeat(43)}`;

    const statuses = await Promise.all(
      [live, ended, forged, live, 'atk_session=unknown.cookie'].map(
        async (cookie) =>
          (
            await sut.inject({
              method: 'GET',
              url: '/api/v1/connections',
              headers: { cookie },
            })
          ).statusCode,
      ),
    );

    expect(statuses).toEqual([200, 401, 401, 200, 401]);
  });

  it('keeps health checks and the OpenAPI document public', async () => {
    expect(
      (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode,
    ).toBe(200);
    expect(
      (await sut.inject({ method: 'GET', url: '/api/docs-json' })).statusCode,
    ).toBe(200);
  });
});
