import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { AdsProxyService, PROXY_DEADLINE_MS } from './ads-proxy.service';
import { createHash } from 'node:crypto';
import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

const SERVICE_KEY = 'proxy-test-service-key-0123456789';

/**
 * The Ads API proxy against the sandbox standing in for Amazon, with exact counts of the calls
 * Amazon gets. Waits go through a recorded sleep (no real waiting): each test checks the waits
 * the proxy asked for.
 */
describe('the Ads API proxy', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let cookie: string;
  let connectionId: string;
  let profileId: string;
  let waits: number[];
  let apiPort: number;
  const fernetKey = Fernet.generateKey();

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      FERNET_KEYS: fernetKey,
      SERVICE_API_KEYS: SERVICE_KEY,
    });
    await sut.listen(0, '127.0.0.1');
    apiPort = (sut.getHttpServer().address() as AddressInfo).port;
    cookie = await logIn(sut);
    connectionId = await connectAccount(sut, cookie, { account: 'Proxy One' });
    const connection = (
      await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${connectionId}`,
        headers: { cookie },
      })
    ).json<{ profiles: { profileId: string }[] }>();
    profileId = connection.profiles[0].profileId;
  });

  beforeEach(() => {
    waits = [];
    sut.get(AdsProxyService).useClock(
      async (ms) => {
        waits.push(ms);
      },
      () => 0.5,
    );
    sut.get(AdsProxyService).gate.clear();
    sandbox.clearFaults();
    sandbox.clearRequests();
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const proxy = (
    path: string,
    options: {
      method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
      headers?: Record<string, string>;
      payload?: string | Buffer;
      id?: string;
    } = {},
  ) =>
    sut.inject({
      method: options.method ?? 'GET',
      url: `/api/v1/connections/${options.id ?? connectionId}/ads${path}`,
      headers: { authorization: `Bearer ${SERVICE_KEY}`, ...options.headers },
      payload: options.payload,
    });

  /**
   * The stored token as if refreshed 2 minutes ago: past the minimum interval, so a 401 may
   * refresh it again, and within the spread's settling time, so it is not due whatever the
   * connection's id (connection-rules.ts).
   */
  const ageToken = () =>
    database.query(
      "UPDATE connections SET last_refreshed_at = now() - interval '2 minutes' WHERE id = $1",
      [connectionId],
    );
  const adsCalls = () =>
    sandbox.requests().filter((entry) => entry.endpoint === 'profiles');
  const tokenRefreshes = () =>
    sandbox
      .requests({ endpoint: 'token' })
      .filter((entry) => entry.grantType === 'refresh_token');

  it("answers Amazon's answer, sent once with the connection's token and our client id", async () => {
    const response = await proxy('/v2/profiles');

    expect(response.statusCode).toBe(200);
    expect(response.headers['x-keeper-attempts']).toBe('1');
    expect(response.headers['x-keeper-error']).toBeUndefined();
    expect(
      response.json<{ profileId: number }[]>().map((p) => String(p.profileId)),
    ).toContain(profileId);
    const [call] = adsCalls();
    expect(adsCalls()).toHaveLength(1);
    expect(call.clientId).toBe(sandbox.clientId);
    expect(call.outcome).not.toMatch(/unauthorized|missing/);
  });

  it('refuses a caller without a service key, before anything else', async () => {
    for (const authorization of [undefined, 'Bearer wrong-key', cookie]) {
      const response = await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${connectionId}/ads/v2/profiles`,
        headers: authorization ? { authorization } : { cookie },
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers['x-keeper-error']).toBe('service_key_required');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    expect(sandbox.requests()).toHaveLength(0);
  });

  /** Over a real socket: `inject()` would resolve the dot segments before the API saw them. */
  const rawGet = (path: string) =>
    new Promise<{
      statusCode: number;
      headers: IncomingHttpHeaders;
      body: string;
    }>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port: apiPort,
          path: `/api/v1/connections/${connectionId}/ads${path}`,
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () =>
            resolve({
              statusCode: response.statusCode ?? 0,
              headers: response.headers,
              body,
            }),
          );
        },
      );
      request.on('error', reject);
      request.end();
    });

  it.each([
    '//evil.example/v2/profiles',
    '/v2/../../v2/profiles',
    '/v2/%2e%2e/profiles',
    '/v2/%2E%2e/%2E%2E/admin',
    '/v2%2fprofiles',
    '/v2%5cprofiles',
    '/v2/%252e%252e/profiles',
    '/http:%2F%2Fevil.example',
    '/',
  ])('refuses the path %p with 400 and sends nothing', async (path) => {
    const response = await rawGet(path);

    expect(response.statusCode).toBe(400);
    expect(response.headers['x-keeper-error']).toBe('bad_path');
    expect(JSON.parse(response.body)).toMatchObject({
      statusCode: 400,
      correlationId: expect.any(String),
    });
    expect(sandbox.requests()).toHaveLength(0);
  });

  it('answers 404 for an unknown connection and 400 for a malformed id, sending nothing', async () => {
    const unknown = await proxy('/v2/profiles', {
      id: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['x-keeper-error']).toBe('unknown_connection');
    const malformed = await proxy('/v2/profiles', { id: 'not-a-uuid' });
    expect(malformed.statusCode).toBe(400);
    expect(sandbox.requests()).toHaveLength(0);
  });

  it('refreshes once and retries once when Amazon answers 401 to a valid-looking token', async () => {
    await ageToken();
    sandbox.queueFault({ endpoint: 'profiles', kind: 'unauthorized' });

    const response = await proxy('/v2/profiles');

    expect(response.statusCode).toBe(200);
    expect(response.headers['x-keeper-attempts']).toBe('2');
    expect(tokenRefreshes()).toHaveLength(1);
    expect(adsCalls()).toHaveLength(2);
  });

  it('passes a second 401 back as Amazon sent it, and leaves the connection live', async () => {
    await ageToken();
    sandbox.queueFault({
      endpoint: 'profiles',
      kind: 'unauthorized',
      count: 2,
    });

    const response = await proxy('/v2/profiles');

    expect(response.statusCode).toBe(401);
    expect(response.headers['x-keeper-error']).toBeUndefined();
    expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(tokenRefreshes()).toHaveLength(1);
    expect(adsCalls()).toHaveLength(2);
    const connection = await sut.inject({
      method: 'GET',
      url: `/api/v1/connections/${connectionId}`,
      headers: { cookie },
    });
    expect(connection.json()).toMatchObject({ status: 'active' });
  });

  it('waits out a 429 for at least its Retry-After, then retries', async () => {
    sandbox.queueFault({ endpoint: 'profiles', kind: '429', retryAfter: 2 });

    const response = await proxy('/v2/profiles', {
      headers: { 'amazon-advertising-api-scope': profileId },
    });

    expect(response.statusCode).toBe(200);
    expect(adsCalls()).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1_900);
    expect(waits[0]).toBeLessThanOrEqual(2_000);
  });

  it('backs off with jitter after a 429 without Retry-After', async () => {
    sandbox.queueFault({ endpoint: 'profiles', kind: '429', count: 2 });

    const response = await proxy('/v2/profiles');

    expect(response.statusCode).toBe(200);
    expect(adsCalls()).toHaveLength(3);
    // Full jitter with a fixed random of 0.5: half of 1 s, then half of 2 s.
    expect(waits.map((ms) => Math.round(ms / 100) * 100)).toEqual([500, 1_000]);
  });

  it('answers 429 with a Retry-After when the wait would outlast the deadline, and holds the profile meanwhile', async () => {
    const seconds = (PROXY_DEADLINE_MS / 1000) * 2;
    sandbox.queueFault({
      endpoint: 'profiles',
      kind: '429',
      retryAfter: seconds,
    });
    const scope = { 'amazon-advertising-api-scope': profileId };

    const first = await proxy('/v2/profiles', { headers: scope });
    expect(first.statusCode).toBe(429);
    expect(first.headers['retry-after']).toBe(String(seconds));
    expect(first.headers['x-keeper-error']).toBeUndefined();

    const second = await proxy('/v2/profiles', { headers: scope });
    expect(second.statusCode).toBe(429);
    expect(second.headers['x-keeper-error']).toBe('throttled');
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(seconds - 5);
    expect(adsCalls()).toHaveLength(1);
  });

  it('retries a 5xx of a GET, and passes the last one back after two retries', async () => {
    sandbox.queueFault({ endpoint: 'profiles', kind: '500' });
    expect((await proxy('/v2/profiles')).statusCode).toBe(200);
    expect(adsCalls()).toHaveLength(2);

    sandbox.clearRequests();
    sandbox.queueFault({ endpoint: 'profiles', kind: '503', count: 3 });
    const failed = await proxy('/v2/profiles');
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['x-keeper-error']).toBeUndefined();
    expect(adsCalls()).toHaveLength(3);
  });

  it('answers 502 when Amazon resets every attempt of a GET', async () => {
    sandbox.queueFault({ endpoint: 'profiles', kind: 'reset', count: 3 });

    const response = await proxy('/v2/profiles');

    expect(response.statusCode).toBe(502);
    expect(response.headers['x-keeper-error']).toBe('amazon_unreachable');
    expect(adsCalls()).toHaveLength(3);
  });

  it('refuses a profile the connection cannot reach after one re-read, and re-reads at most once a minute', async () => {
    const scope = { 'amazon-advertising-api-scope': '999999999' };
    // Read at consent, a moment ago: no re-read yet.
    expect((await proxy('/v2/profiles', { headers: scope })).statusCode).toBe(
      403,
    );
    expect(adsCalls()).toHaveLength(0);
    await database.query(
      "UPDATE connections SET profiles_read_at = now() - interval '2 minutes' WHERE id = $1",
      [connectionId],
    );

    const first = await proxy('/v2/profiles', { headers: scope });
    expect(first.statusCode).toBe(403);
    expect(first.headers['x-keeper-error']).toBe('unknown_scope');
    expect(first.json<{ message: string }>().message).toMatch(/999999999/);
    // The one call Amazon got is the re-read of the profiles, never the call itself.
    expect(adsCalls()).toHaveLength(1);
    expect(tokenRefreshes()).toHaveLength(0);

    const second = await proxy('/v2/profiles', { headers: scope });
    expect(second.statusCode).toBe(403);
    expect(adsCalls()).toHaveLength(1);
  });

  it('refuses a malformed scope with 400', async () => {
    const response = await proxy('/v2/profiles', {
      headers: { 'amazon-advertising-api-scope': 'abc' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['x-keeper-error']).toBe('bad_scope');
    expect(sandbox.requests()).toHaveLength(0);
  });

  it('refuses a body over 10 MB with 413, sending nothing', async () => {
    const response = await proxy('/v2/profiles', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      payload: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers['x-keeper-error']).toBe('body_too_large');
    expect(sandbox.requests()).toHaveLength(0);
  });

  it('answers 409 for a disconnected connection, sending nothing', async () => {
    const other = await connectAccount(sut, cookie, { account: 'Proxy Gone' });
    await sut.inject({
      method: 'DELETE',
      url: `/api/v1/connections/${other}`,
      headers: { cookie },
    });
    sandbox.clearRequests();

    const response = await proxy('/v2/profiles', { id: other });

    expect(response.statusCode).toBe(409);
    expect(response.headers['x-keeper-error']).toBe('disconnected');
    expect(sandbox.requests()).toHaveLength(0);
  });

  describe('with the rest of the Ads API', () => {
    const scope = () => ({ 'amazon-advertising-api-scope': profileId });
    const ads = () =>
      sandbox.requests().filter((entry) => entry.endpoint === 'ads');

    it("sends the caller's Amazon headers and body unchanged, the keeper's credentials, and nothing else", async () => {
      const body = Buffer.from(
        JSON.stringify({ campaignIdFilter: { include: ['1', '2'] } }),
      );
      const response = await proxy('/v2/echo/sp/campaigns/list?a=1&b=%2F', {
        method: 'POST',
        headers: {
          ...scope(),
          'amazon-ads-accountid': 'amzn1.ads-account.g.canary',
          'content-type': 'application/vnd.spcampaign.v3+json',
          accept: 'application/vnd.spcampaign.v3+json',
          cookie: cookie,
          'x-forwarded-for': '10.1.2.3',
          'x-api-key': 'not-for-amazon',
        },
        payload: body,
      });

      expect(response.statusCode).toBe(200);
      const echo = response.json<{
        method: string;
        path: string;
        query: string;
        headers: Record<string, string>;
        authorizationPresent: boolean;
        cookiePresent: boolean;
        bodyBytes: number;
        bodySha256: string;
      }>();
      expect(echo).toMatchObject({
        method: 'POST',
        path: '/v2/echo/sp/campaigns/list',
        query: 'a=1&b=%2F',
        authorizationPresent: true,
        cookiePresent: false,
        bodyBytes: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
      expect(echo.headers).toMatchObject({
        'amazon-advertising-api-scope': profileId,
        'amazon-ads-accountid': 'amzn1.ads-account.g.canary',
        'amazon-advertising-api-clientid': sandbox.clientId,
        'content-type': 'application/vnd.spcampaign.v3+json',
        accept: 'application/vnd.spcampaign.v3+json',
      });
      expect(echo.headers).not.toHaveProperty('x-forwarded-for');
      expect(echo.headers).not.toHaveProperty('x-api-key');
      expect(ads()).toHaveLength(1);
    });

    it('never retries a POST Amazon answered with a 5xx, but retries it after a 429', async () => {
      sandbox.queueFault({ endpoint: 'ads', kind: '500' });
      const failed = await proxy('/v2/echo/reports', {
        method: 'POST',
        headers: { ...scope(), 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(failed.statusCode).toBe(500);
      expect(ads()).toHaveLength(1);

      sandbox.clearRequests();
      sandbox.queueFault({ endpoint: 'ads', kind: '429', retryAfter: 1 });
      const throttled = await proxy('/v2/echo/reports', {
        method: 'POST',
        headers: { ...scope(), 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(throttled.statusCode).toBe(200);
      expect(ads()).toHaveLength(2);
      expect(waits[0]).toBeGreaterThanOrEqual(900);
    });

    it('retries a PUT after a 503 (idempotent)', async () => {
      sandbox.queueFault({ endpoint: 'ads', kind: '503' });
      const response = await proxy('/v2/echo/campaigns', {
        method: 'PUT',
        headers: { ...scope(), 'content-type': 'application/json' },
        payload: '[]',
      });
      expect(response.statusCode).toBe(200);
      expect(ads()).toHaveLength(2);
    });

    it("passes a report download's 307 back as it came: the token never travels to the download", async () => {
      const created = await proxy('/reporting/reports', {
        method: 'POST',
        headers: {
          ...scope(),
          'content-type': 'application/vnd.createasyncreportrequest.v3+json',
        },
        payload: JSON.stringify({
          name: 'proxy test',
          startDate: '2026-11-01',
          endDate: '2026-11-02',
          configuration: {
            adProduct: 'SPONSORED_PRODUCTS',
            groupBy: ['campaign'],
            columns: ['impressions'],
            reportTypeId: 'spCampaigns',
            timeUnit: 'SUMMARY',
            format: 'GZIP_JSON',
          },
        }),
      });
      expect(created.statusCode).toBe(200);
      const { reportId } = created.json<{ reportId: string }>();
      const status = await proxy(`/reporting/reports/${reportId}`, {
        headers: scope(),
      });
      expect(status.json()).toMatchObject({ status: 'COMPLETED' });

      const download = await proxy(`/v2/reports/${reportId}/download`, {
        headers: scope(),
      });
      expect(download.statusCode).toBe(307);
      const location = download.headers['location'] as string;
      expect(location).toBe(status.json<{ url: string }>().url);
      expect(sandbox.requests({ endpoint: 'download' })).toHaveLength(0);

      // The job fetches it itself, without the keeper's (or any) Authorization.
      const file = await fetch(location);
      expect(file.status).toBe(200);
      await file.arrayBuffer();
      expect(
        sandbox
          .requests({ endpoint: 'download' })
          .map((entry) => entry.authorizationPresent),
      ).toEqual([false]);
    });
  });

  it('makes one refresh for 50 callers on 3 replicas when Amazon refuses the stored token', async () => {
    const replicas = [
      sut,
      ...(await Promise.all(
        [1, 2].map(() =>
          startTestApp(database, {
            ...sandboxEnvironment(sandbox),
            FERNET_KEYS: fernetKey,
            SERVICE_API_KEYS: SERVICE_KEY,
          }),
        ),
      )),
    ];
    try {
      for (const replica of replicas)
        replica.get(AdsProxyService).useClock(
          async () => undefined,
          () => 0.5,
        );
      const token = (
        await sut.inject({
          method: 'GET',
          url: `/api/v1/connections/${connectionId}/access-token`,
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        })
      ).json<{ accessToken: string }>().accessToken;
      // Revoked mid-hour (a rotation elsewhere, say): every replica still holds it as valid.
      expect(sandbox.revokeAccessToken(token)).toBe(true);
      await ageToken();
      sandbox.clearRequests();

      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          replicas[index % 3].inject({
            method: 'GET',
            url: `/api/v1/connections/${connectionId}/ads/v2/profiles`,
            headers: { authorization: `Bearer ${SERVICE_KEY}` },
          }),
        ),
      );

      expect(answers.map((answer) => answer.statusCode)).toEqual(
        Array(50).fill(200),
      );
      expect(tokenRefreshes()).toHaveLength(1);
      // Each caller sent at most one call with the revoked token and one with the new.
      expect(adsCalls().length).toBeLessThanOrEqual(100);
    } finally {
      await Promise.all(replicas.slice(1).map((replica) => replica.close()));
    }
  });

  it('refreshes a token less than a minute old at most once a minute for 401s: ten refused calls, one refresh', async () => {
    // A connection of its own: the grant is per connection and minute, and others used theirs.
    const young = await connectAccount(sut, cookie, { account: 'Proxy Young' });
    sandbox.clearRequests();
    sandbox.queueFault({
      endpoint: 'profiles',
      kind: 'unauthorized',
      count: 20,
    });

    for (let call = 0; call < 10; call += 1)
      expect((await proxy('/v2/profiles', { id: young })).statusCode).toBe(401);

    expect(tokenRefreshes()).toHaveLength(1);
    expect(adsCalls()).toHaveLength(20);
  });
});
