import { startLwaSandbox } from './lwa-sandbox';
import { ManualClock } from './sandbox-clock';
import type { RunningSandbox } from './sandbox-options';
import {
  control,
  exchangeCode,
  getProfiles,
  obtainCode,
  refresh,
} from '../testing/sandbox-test-kit';

async function body<T = Record<string, unknown>>(
  response: Response,
): Promise<T> {
  return (await response.json()) as T;
}

describe(`${startLwaSandbox.name}: control API (/__sandbox/)`, () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let sut: RunningSandbox;

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, clock });
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  it('GET health answers 200 with counts', async () => {
    sut.issueTokens();

    const response = await control(sut, 'GET', 'health');

    expect(response.status).toBe(200);
    expect(await body(response)).toEqual({
      status: 'ok',
      now: '2026-01-01T00:00:00.000Z',
      counts: {
        authorizationCodes: 0,
        refreshTokens: 1,
        accessTokens: 1,
        pendingConsents: 0,
        queuedFaults: 0,
        reports: 0,
        tokenRequestsInFlight: 0,
        peakTokenRequestsInFlight: 0,
      },
    });
  });

  describe('settings', () => {
    it('reads and patches them', async () => {
      const before = await body(await control(sut, 'GET', 'settings'));

      const patched = await control(sut, 'PATCH', 'settings', {
        accessTokenLifetimeSeconds: 120,
        rotateRefreshTokens: true,
        autoConsent: 'allow',
      });

      expect(before).toEqual({
        accessTokenLifetimeSeconds: 3600,
        rotateRefreshTokens: false,
        autoConsent: 'off',
        authorizationCodeLifetimeSeconds: 300,
        reportDelaySeconds: 0,
        reportBytes: 4096,
        tokenDelayMs: 0,
      });
      expect(await body(patched)).toEqual({
        accessTokenLifetimeSeconds: 120,
        rotateRefreshTokens: true,
        autoConsent: 'allow',
        authorizationCodeLifetimeSeconds: 300,
        reportDelaySeconds: 0,
        reportBytes: 4096,
        tokenDelayMs: 0,
      });
      expect(sut.issueTokens().expires_in).toBe(120);
    });

    it.each([
      [{ accessTokenLifetimeSeconds: 0 }],
      [{ accessTokenLifetimeSeconds: '60' }],
      [{ rotateRefreshTokens: 'yes' }],
      [{ autoConsent: 'sometimes' }],
      [{ reportBytes: 1 }],
      [{ reportBytes: 2 * 1024 * 1024 * 1024 }],
      [{ reportDelaySeconds: -1 }],
      [{ tokenDelayMs: -1 }],
      [{ tokenDelayMs: 60_001 }],
      [{ tokenDelayMs: 1.5 }],
      [{ tokenLifetime: 60 }],
      [[1, 2]],
    ])('refuses %j with 400 and changes nothing', async (patch) => {
      const response = await control(sut, 'PATCH', 'settings', patch);

      expect(response.status).toBe(400);
      expect(await body(response)).toEqual({
        error: 'invalid_request',
        message: expect.any(String),
      });
      expect(sut.settings().accessTokenLifetimeSeconds).toBe(3600);
    });

    it('refuses a body that is not JSON', async () => {
      const response = await fetch(`${sut.url}/__sandbox/settings`, {
        method: 'PATCH',
        body: '{oops',
      });

      expect(response.status).toBe(400);
    });
  });

  describe('faults', () => {
    it('queues one or many, lists and clears them', async () => {
      const one = await control(sut, 'POST', 'faults', {
        endpoint: 'token',
        kind: 429,
        retryAfter: 3,
        count: 2,
      });
      const many = await control(sut, 'POST', 'faults', [
        { endpoint: 'profiles', kind: 'timeout', ms: 1000 },
        { endpoint: 'authorize', kind: '500' },
      ]);

      expect(one.status).toBe(201);
      expect(await body(one)).toEqual({
        faults: [
          {
            id: expect.any(String),
            endpoint: 'token',
            kind: '429',
            retryAfter: 3,
            count: 2,
            remaining: 2,
          },
        ],
      });
      expect(many.status).toBe(201);
      const listed = await body<{ faults: { endpoint: string }[] }>(
        await control(sut, 'GET', 'faults'),
      );
      expect(listed.faults.map((fault) => fault.endpoint)).toEqual([
        'authorize',
        'token',
        'profiles',
      ]);
      expect(
        await body(await control(sut, 'DELETE', 'faults?endpoint=token')),
      ).toEqual({ cleared: 1 });
      expect(await body(await control(sut, 'DELETE', 'faults'))).toEqual({
        cleared: 2,
      });
      expect(sut.faults()).toEqual([]);
    });

    it('queues none of a batch when one is invalid', async () => {
      const response = await control(sut, 'POST', 'faults', [
        { endpoint: 'token', kind: '500' },
        { endpoint: 'token', kind: 'meteor' },
      ]);

      expect(response.status).toBe(400);
      expect((await body(response))['message']).toMatch(/^fault 1: kind/);
      expect(sut.faults()).toEqual([]);
    });

    it('a queued fault reaches the token endpoint', async () => {
      await control(sut, 'POST', 'faults', {
        endpoint: 'token',
        kind: 'invalid_grant',
      });

      const response = await refresh(sut, sut.issueTokens().refresh_token);

      expect(response.status).toBe(400);
    });
  });

  describe('revocations', () => {
    it('revokes a refresh token: invalid_grant afterwards', async () => {
      const { refresh_token } = sut.issueTokens();

      const revoked = await control(sut, 'POST', 'revocations', {
        refreshToken: refresh_token,
      });
      const again = await control(sut, 'POST', 'revocations', {
        refreshToken: refresh_token,
      });

      expect(await body(revoked)).toEqual({ revoked: true });
      expect(again.status).toBe(404);
      expect(await body(await refresh(sut, refresh_token))).toEqual(
        expect.objectContaining({ error: 'invalid_grant' }),
      );
    });

    it('revokes an access token: 401 afterwards', async () => {
      const { access_token } = sut.issueTokens();

      await control(sut, 'POST', 'revocations', { accessToken: access_token });

      expect((await getProfiles(sut, access_token)).status).toBe(401);
    });

    it('needs exactly one token', async () => {
      expect((await control(sut, 'POST', 'revocations', {})).status).toBe(400);
      expect(
        (
          await control(sut, 'POST', 'revocations', {
            refreshToken: 'a',
            accessToken: 'b',
          })
        ).status,
      ).toBe(400);
      expect(
        (await control(sut, 'POST', 'revocations', { refreshToken: 42 }))
          .status,
      ).toBe(400);
    });
  });

  it('POST tokens mints a working pair for an account', async () => {
    const response = await control(sut, 'POST', 'tokens', {
      account: 'ENTITY2SANDBOXBRIGHTWAVE',
    });

    expect(response.status).toBe(201);
    const tokens = await body<{
      access_token: string;
      refresh_token: string;
      accountId: string;
    }>(response);
    expect(tokens).toEqual(
      expect.objectContaining({
        token_type: 'bearer',
        expires_in: 3600,
        accountId: 'ENTITY2SANDBOXBRIGHTWAVE',
      }),
    );
    expect((await getProfiles(sut, tokens.access_token)).status).toBe(200);
    expect((await refresh(sut, tokens.refresh_token)).status).toBe(200);
  });

  describe('requests', () => {
    it('records what arrived, with secrets redacted', async () => {
      const { code, codeVerifier } = await obtainCode(sut);
      const tokens = await body<{
        access_token: string;
        refresh_token: string;
      }>(await exchangeCode(sut, code, codeVerifier));
      await refresh(sut, tokens.refresh_token);
      await getProfiles(sut, tokens.access_token);
      await refresh(sut, 'Atzr|unknown');

      const response = await control(sut, 'GET', 'requests');
      const text = await response.text();
      const { requests } = JSON.parse(text) as {
        requests: Record<string, unknown>[];
      };

      expect(
        requests.map((entry) => [
          entry['endpoint'],
          entry['grantType'],
          entry['status'],
          entry['outcome'],
        ]),
      ).toEqual([
        ['authorize', undefined, 302, 'allowed'],
        ['token', 'authorization_code', 200, 'ok'],
        ['token', 'refresh_token', 200, 'ok'],
        ['profiles', undefined, 200, 'ok'],
        ['token', 'refresh_token', 400, 'invalid_grant'],
      ]);
      expect(requests[1]).toEqual(
        expect.objectContaining({
          id: expect.any(Number),
          receivedAt: '2026-01-01T00:00:00.000Z',
          method: 'POST',
          path: '/auth/o2/token',
          clientId: sut.clientId,
          accountId: 'A1SANDBOXACME01',
          credential: expect.stringMatching(/^AN…[0-9a-f]{10}$/),
          durationMs: expect.any(Number),
        }),
      );
      for (const secret of [
        code,
        codeVerifier,
        tokens.access_token,
        tokens.refresh_token,
        sut.clientSecret,
      ]) {
        expect(text).not.toContain(secret);
      }
    });

    it('filters by endpoint and limit, and clears', async () => {
      await fetch(`${sut.url}/nowhere`);
      await refresh(sut, 'Atzr|x');
      await refresh(sut, 'Atzr|y');

      const tokenOnly = await body<{ requests: unknown[] }>(
        await control(sut, 'GET', 'requests?endpoint=token&limit=1'),
      );
      await control(sut, 'DELETE', 'requests');

      expect(tokenOnly.requests).toHaveLength(1);
      expect(sut.requests()).toEqual([]);
      expect(
        (await control(sut, 'GET', 'requests?endpoint=bogus')).status,
      ).toBe(400);
    });
  });

  it('POST clock moves sandbox time: codes and access tokens expire', async () => {
    const { code, codeVerifier } = await obtainCode(sut);
    const { access_token } = sut.issueTokens();

    const moved = await control(sut, 'POST', 'clock', { advanceSeconds: 3600 });

    expect(await body(moved)).toEqual({ now: '2026-01-01T01:00:00.000Z' });
    expect((await exchangeCode(sut, code, codeVerifier)).status).toBe(400);
    expect((await getProfiles(sut, access_token)).status).toBe(401);
    expect(
      (await control(sut, 'POST', 'clock', { advanceSeconds: -1 })).status,
    ).toBe(400);
  });

  it('GET accounts lists the sample accounts', async () => {
    const { accounts } = await body<{ accounts: { id: string }[] }>(
      await control(sut, 'GET', 'accounts'),
    );

    expect(accounts.map((account) => account.id)).toContain('A1SANDBOXACME01');
  });

  it('POST reset forgets everything and restores the start settings', async () => {
    const { refresh_token } = sut.issueTokens();
    sut.updateSettings({ rotateRefreshTokens: true });
    sut.queueFault({ endpoint: 'token', kind: '500' });
    sut.advanceTime(60);
    await fetch(`${sut.url}/nowhere`);

    const response = await control(sut, 'POST', 'reset');

    expect(await body(response)).toEqual({ reset: true });
    expect(sut.settings().rotateRefreshTokens).toBe(false);
    expect(sut.faults()).toEqual([]);
    expect(sut.requests()).toEqual([]);
    expect(sut.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect((await refresh(sut, refresh_token)).status).toBe(400);
  });

  it('answers 404 for an unknown operation and 405 for a wrong method', async () => {
    const unknown = await control(sut, 'GET', 'nope');
    const wrongMethod = await control(sut, 'DELETE', 'health');

    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('does not log its own requests', async () => {
    await control(sut, 'GET', 'health');

    expect(sut.requests()).toEqual([]);
  });
});
