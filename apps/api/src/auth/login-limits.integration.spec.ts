import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { cookiesFrom, TEST_ADMIN_PASSWORD } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { addressBucket, LOGIN_LIMITS } from './login-limiter';

interface Attempt {
  password?: string;
  remoteAddress?: string;
  forwardedFor?: string;
  cookie?: string;
}

async function attempt(
  app: NestFastifyApplication,
  {
    password = 'wrong guess',
    remoteAddress = '10.5.0.1',
    forwardedFor,
    cookie,
  }: Attempt = {},
) {
  const headers: Record<string, string> = {};
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  if (cookie) headers.cookie = cookie;
  return app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { password },
    remoteAddress,
    headers,
  });
}

async function statuses(
  app: NestFastifyApplication,
  attempts: Attempt[],
): Promise<number[]> {
  const result: number[] = [];
  for (const each of attempts)
    result.push((await attempt(app, each)).statusCode);
  return result;
}

describe('login limits', () => {
  let database: TestDatabase;
  let direct: NestFastifyApplication;
  let behindProxy: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    direct = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    });
    // A second replica on the same database, configured to sit behind one proxy.
    behindProxy = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      TRUST_PROXY: '1',
    });
  });

  beforeEach(async () => {
    await database.query('DELETE FROM login_attempts');
  });

  afterAll(async () => {
    await behindProxy?.close();
    await direct?.close();
    await database?.drop();
  });

  it('ignores X-Forwarded-For with TRUST_PROXY off: a rotating header still meets 429 after 5', async () => {
    const attempts = Array.from({ length: 8 }, (_, index) => ({
      forwardedFor: `198.51.100.${index + 1}`,
    }));

    expect(await statuses(direct, attempts)).toEqual([
      401, 401, 401, 401, 401, 429, 429, 429,
    ]);
    const limited = await attempt(direct, { forwardedFor: '198.51.100.99' });
    expect(limited.json()).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message: LOGIN_LIMITS.address.message,
      correlationId: expect.any(String),
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    const audited = await database.query<{ details: { ip: string } }>(
      "SELECT details FROM audit_events WHERE type = 'login_failed'",
    );
    expect(new Set(audited.map((row) => row.details.ip))).toEqual(
      new Set(['10.5.0.1']),
    );
  });

  it('with TRUST_PROXY=1 counts the address the proxy forwarded, and audits that address', async () => {
    await database.query(
      "DELETE FROM audit_events WHERE type = 'login_failed'",
    );
    const fromClient = {
      remoteAddress: '10.0.0.2',
      forwardedFor: 'spoofed-by-client, 203.0.113.5',
    };

    expect(await statuses(behindProxy, Array(6).fill(fromClient))).toEqual([
      401, 401, 401, 401, 401, 429,
    ]);
    expect(
      await statuses(behindProxy, [
        { remoteAddress: '10.0.0.2', forwardedFor: '203.0.113.6' },
      ]),
    ).toEqual([401]);
    const audited = await database.query<{ details: { ip: string } }>(
      "SELECT details FROM audit_events WHERE type = 'login_failed'",
    );
    expect(audited.map((row) => row.details.ip).sort()).toEqual([
      ...Array(5).fill('203.0.113.5'),
      '203.0.113.6',
    ]);
  });

  it('shares the count between two app instances on one database', async () => {
    const client = { remoteAddress: '10.6.0.1', forwardedFor: '10.6.0.1' };

    const first = await statuses(direct, [
      { remoteAddress: '10.6.0.1' },
      { remoteAddress: '10.6.0.1' },
      { remoteAddress: '10.6.0.1' },
    ]);
    const second = await statuses(behindProxy, [
      { ...client, remoteAddress: '10.0.0.9' },
      { ...client, remoteAddress: '10.0.0.9' },
    ]);
    const third = await statuses(direct, [{ remoteAddress: '10.6.0.1' }]);

    expect([...first, ...second, ...third]).toEqual([
      401, 401, 401, 401, 401, 429,
    ]);
  });

  it('does not count successful logins, nor attempts refused for the limit', async () => {
    const wrong = { remoteAddress: '10.7.0.1' };
    const right = { remoteAddress: '10.7.0.1', password: TEST_ADMIN_PASSWORD };

    expect(
      await statuses(direct, [
        wrong,
        wrong,
        right,
        right,
        right,
        wrong,
        right,
        wrong,
        wrong,
      ]),
    ).toEqual([401, 401, 201, 201, 201, 401, 201, 401, 401]);
    expect(await statuses(direct, [right, wrong, right])).toEqual([
      429, 429, 429,
    ]);
    const [{ failures }] = await database.query<{ failures: number }>(
      'SELECT failures FROM login_attempts WHERE bucket = $1',
      ['address:10.7.0.1'],
    );
    expect(failures).toBe(5);
  });

  it('lets exactly five of twenty simultaneous wrong guesses from one address through', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        attempt(direct, { remoteAddress: '10.8.0.1' }),
      ),
    );
    const counts = answers.reduce<Record<number, number>>(
      (sum, { statusCode }) => ({
        ...sum,
        [statusCode]: (sum[statusCode] ?? 0) + 1,
      }),
      {},
    );

    expect(counts).toEqual({ 401: 5, 429: 15 });
  });

  it('limits the account across addresses, except for a browser that has logged in before', async () => {
    const known = await attempt(direct, {
      remoteAddress: '10.9.0.1',
      password: TEST_ADMIN_PASSWORD,
    });
    const deviceCookie = `atk_device=${cookiesFrom(known).atk_device}`;
    expect(String(known.headers['set-cookie'])).toMatch(
      /atk_device=[\w-]+\.[\w-]+; Max-Age=7776000; Path=\/api\/v1\/session; HttpOnly; SameSite=Strict/,
    );

    const rotating = Array.from(
      { length: LOGIN_LIMITS.account.failures + 1 },
      (_, index) => ({ remoteAddress: `10.10.0.${index + 1}` }),
    );
    const answers = await statuses(direct, rotating);
    const refused = await attempt(direct, {
      remoteAddress: '10.10.1.1',
      password: TEST_ADMIN_PASSWORD,
    });
    const fromKnownBrowser = await attempt(direct, {
      remoteAddress: '10.10.1.2',
      password: TEST_ADMIN_PASSWORD,
      cookie: deviceCookie,
    });
    const forgedDevice = await attempt(direct, {
      remoteAddress: '10.10.1.3',
      cookie: `atk_device=${'a'.repeat(32)}.${'b'.repeat(43)}`,
    });

    expect(answers).toEqual([
      ...Array(LOGIN_LIMITS.account.failures).fill(401),
      429,
    ]);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().message).toBe(LOGIN_LIMITS.account.message);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(
      LOGIN_LIMITS.account.windowSeconds,
    );
    expect(fromKnownBrowser.statusCode).toBe(201);
    expect(forgedDevice.statusCode).toBe(429);
  });

  it('limits a known browser on its own too', async () => {
    const known = await attempt(direct, {
      remoteAddress: '10.11.0.1',
      password: TEST_ADMIN_PASSWORD,
    });
    const cookie = `atk_device=${cookiesFrom(known).atk_device}`;
    const rotating = Array.from({ length: 6 }, (_, index) => ({
      remoteAddress: `10.11.1.${index + 1}`,
      cookie,
    }));

    expect(await statuses(direct, rotating)).toEqual([
      401, 401, 401, 401, 401, 429,
    ]);
  });

  it('opens again when the window has passed, and prunes ended windows', async () => {
    const client = { remoteAddress: '10.12.0.1' };
    expect(await statuses(direct, Array(6).fill(client))).toEqual([
      401, 401, 401, 401, 401, 429,
    ]);
    await database.query(
      "UPDATE login_attempts SET window_started_at = now() - interval '61 seconds' WHERE bucket LIKE 'address:%'",
    );
    await database.query(
      "INSERT INTO login_attempts (bucket, window_started_at, window_seconds, failures) VALUES ('address:192.0.2.1', now() - interval '2 hours', 60, 3)",
    );

    // A fresh replica prunes on its first attempt.
    const replica = await startTestApp(database, {
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    });
    try {
      expect(await statuses(replica, [client])).toEqual([401]);
    } finally {
      await replica.close();
    }
    expect(
      await database.query(
        "SELECT 1 FROM login_attempts WHERE bucket = 'address:192.0.2.1'",
      ),
    ).toEqual([]);
  });
});

describe(addressBucket.name, () => {
  it.each([
    ['203.0.113.7', 'address:203.0.113.7'],
    ['::ffff:203.0.113.7', 'address:203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', 'address:2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', 'address:2001:db8:1:2::/64'],
    ['2001:db8::1', 'address:2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'address:fe80:0:0:0::/64'],
    ['::1', 'address:0:0:0:0::/64'],
  ])('puts %s in %s', (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});
