import { fingerprint } from './credentials';
import { startLwaSandbox } from './lwa-sandbox';
import { ManualClock } from './sandbox-clock';
import type { RunningSandbox } from './sandbox-options';
import {
  authorizeUrl,
  eventually,
  getProfiles,
  refresh,
} from '../testing/sandbox-test-kit';

interface FetchFailure {
  name?: string;
  cause?: { code?: string };
}

/** What `fetch` rejected with. Errors from undici come from another realm than Jest's, so no instanceof. */
async function failureOf(
  request: Promise<Response>,
): Promise<{ name: string | undefined; cause: string | undefined }> {
  try {
    const response = await request;
    return { name: `answered ${response.status}`, cause: undefined };
  } catch (error) {
    const failure = error as FetchFailure;
    return { name: failure.name, cause: failure.cause?.code };
  }
}

describe(`${startLwaSandbox.name}: faults`, () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
  let sut: RunningSandbox;
  let refreshToken: string;

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, clock });
  });
  beforeEach(() => {
    refreshToken = sut.issueTokens().refresh_token;
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  describe('token endpoint', () => {
    it.each([
      ['429', 429, 'too_many_requests'],
      ['500', 500, 'server_error'],
      ['503', 503, 'temporarily_unavailable'],
      ['invalid_grant', 400, 'invalid_grant'],
      ['invalid_client', 401, 'invalid_client'],
      ['unauthorized_client', 400, 'unauthorized_client'],
    ] as const)(
      '%s answers %i %s, once, leaving the token valid',
      async (kind, status, error) => {
        sut.queueFault({ endpoint: 'token', kind });

        const faulted = await refresh(sut, refreshToken);
        const next = await refresh(sut, refreshToken);

        expect(faulted.status).toBe(status);
        expect(await faulted.json()).toEqual({
          error,
          error_description: expect.any(String),
        });
        expect(next.status).toBe(200);
      },
    );

    it('logs whose refresh token a fault answered (its fingerprint), as for a normal answer', async () => {
      sut.queueFault({ endpoint: 'token', kind: '429', retryAfter: 1 });

      await (await refresh(sut, refreshToken)).arrayBuffer();
      await (await refresh(sut, refreshToken)).arrayBuffer();

      const [faulted, answered] = sut.requests({ endpoint: 'token' });
      expect(faulted).toMatchObject({
        status: 429,
        fault: '429',
        credential: fingerprint(refreshToken),
      });
      expect(answered).toMatchObject({
        status: 200,
        credential: fingerprint(refreshToken),
      });
    });

    it('429 sends Retry-After as seconds', async () => {
      sut.queueFault({ endpoint: 'token', kind: '429', retryAfter: 7 });

      const response = await refresh(sut, refreshToken);

      expect(response.headers.get('retry-after')).toBe('7');
    });

    it('429 sends Retry-After as an HTTP-date in sandbox time', async () => {
      sut.queueFault({
        endpoint: 'token',
        kind: '429',
        retryAfter: 30,
        retryAfterFormat: 'http-date',
      });

      const response = await refresh(sut, refreshToken);

      expect(response.headers.get('retry-after')).toBe(
        'Tue, 24 Nov 2026 12:00:30 GMT',
      );
    });

    it('503 sends a literal Retry-After, and none when not asked', async () => {
      sut.queueFault({
        endpoint: 'token',
        kind: '503',
        retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT',
      });
      sut.queueFault({ endpoint: 'token', kind: '503' });

      const literal = await refresh(sut, refreshToken);
      const none = await refresh(sut, refreshToken);

      expect(literal.headers.get('retry-after')).toBe(
        'Wed, 21 Oct 2026 07:28:00 GMT',
      );
      expect(none.headers.get('retry-after')).toBeNull();
    });

    it('malformed_json answers 200 with a body that does not parse', async () => {
      sut.queueFault({ endpoint: 'token', kind: 'malformed_json' });

      const response = await refresh(sut, refreshToken);

      expect(response.status).toBe(200);
      await expect(response.json()).rejects.toHaveProperty(
        'name',
        'SyntaxError',
      );
    });

    it('timeout never answers: the client gives up', async () => {
      sut.queueFault({ endpoint: 'token', kind: 'timeout' });

      const failure = await failureOf(
        fetch(`${sut.url}/auth/o2/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
            client_id: sut.clientId,
            client_secret: sut.clientSecret,
          }),
          signal: AbortSignal.timeout(150),
        }),
      );

      expect(failure.name).toBe('TimeoutError');
      expect((await refresh(sut, refreshToken)).status).toBe(200);
    });

    it('timeout with ms drops the connection after that long, unanswered', async () => {
      sut.queueFault({ endpoint: 'token', kind: 'timeout', ms: 50 });
      const startedAt = Date.now();

      const failure = await failureOf(refresh(sut, refreshToken));

      expect(failure.name).toBe('TypeError');
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45);
      expect(
        await eventually(() => sut.requests({ endpoint: 'token' })[0]),
      ).toEqual(
        expect.objectContaining({ status: 0, outcome: 'fault:timeout' }),
      );
    });

    it('reset drops the connection at once', async () => {
      sut.queueFault({ endpoint: 'token', kind: 'reset' });

      const failure = await failureOf(refresh(sut, refreshToken));

      expect(failure.name).toBe('TypeError');
      expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(failure.cause);
    });

    it('slow answers correctly after the delay', async () => {
      sut.queueFault({ endpoint: 'token', kind: 'slow', ms: 120 });
      const startedAt = Date.now();

      const response = await refresh(sut, refreshToken);

      expect(response.status).toBe(200);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(110);
      expect(sut.requests({ endpoint: 'token' })[0]).toEqual(
        expect.objectContaining({ status: 200, outcome: 'ok', fault: 'slow' }),
      );
    });

    it('a count repeats a fault, then normal service resumes', async () => {
      sut.queueFault({ endpoint: 'token', kind: '500', count: 3 });

      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await refresh(sut, refreshToken)).status);

      expect(statuses).toEqual([500, 500, 500, 200]);
    });

    it('faults on one endpoint leave the others alone', async () => {
      sut.queueFault({ endpoint: 'profiles', kind: '500' });

      expect((await refresh(sut, refreshToken)).status).toBe(200);
      expect(sut.faults()).toHaveLength(1);
    });
  });

  describe('profiles endpoint', () => {
    it.each([
      ['429', 429],
      ['500', 500],
      ['503', 503],
      ['unauthorized', 401],
    ] as const)(
      '%s answers %i in the Ads error shape',
      async (kind, status) => {
        sut.queueFault({
          endpoint: 'profiles',
          kind,
          ...(kind === '429' ? { retryAfter: 2 } : {}),
        });

        const response = await getProfiles(sut, sut.issueTokens().access_token);

        expect(response.status).toBe(status);
        expect(await response.json()).toEqual({
          code: expect.any(String),
          details: expect.any(String),
          requestId: expect.any(String),
        });
        if (kind === '429')
          expect(response.headers.get('retry-after')).toBe('2');
      },
    );

    it('malformed_json, timeout and reset', async () => {
      const { access_token } = sut.issueTokens();
      sut.queueFault({ endpoint: 'profiles', kind: 'malformed_json' });
      sut.queueFault({ endpoint: 'profiles', kind: 'timeout' });
      sut.queueFault({ endpoint: 'profiles', kind: 'reset' });

      const malformed = await getProfiles(sut, access_token);
      await expect(malformed.json()).rejects.toHaveProperty(
        'name',
        'SyntaxError',
      );
      expect(
        (
          await failureOf(
            getProfiles(sut, access_token, '/v2/profiles', {
              signal: AbortSignal.timeout(100),
            }),
          )
        ).name,
      ).toBe('TimeoutError');
      expect((await failureOf(getProfiles(sut, access_token))).name).toBe(
        'TypeError',
      );
      expect((await getProfiles(sut, access_token)).status).toBe(200);
    });
  });

  describe('authorize endpoint', () => {
    it('503 shows an error page with Retry-After', async () => {
      sut.queueFault({ endpoint: 'authorize', kind: '503', retryAfter: 5 });

      const response = await fetch(
        authorizeUrl(sut, { sandbox_auto: 'allow' }),
        { redirect: 'manual' },
      );

      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.headers.get('content-type')).toContain('text/html');
    });

    it('invalid_client shows the error page; unauthorized_client redirects with the error', async () => {
      sut.queueFault({ endpoint: 'authorize', kind: 'invalid_client' });
      sut.queueFault({ endpoint: 'authorize', kind: 'unauthorized_client' });

      const page = await fetch(authorizeUrl(sut, { sandbox_auto: 'allow' }), {
        redirect: 'manual',
      });
      const redirected = await fetch(
        authorizeUrl(sut, { sandbox_auto: 'allow' }),
        { redirect: 'manual' },
      );

      expect(page.status).toBe(400);
      expect(
        new URL(redirected.headers.get('location') ?? '').searchParams.get(
          'error',
        ),
      ).toBe('unauthorized_client');
    });

    it('slow delays the consent page', async () => {
      sut.queueFault({ endpoint: 'authorize', kind: 'slow', ms: 60 });
      const startedAt = Date.now();

      const response = await fetch(authorizeUrl(sut));

      expect(response.status).toBe(200);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(55);
    });
  });

  it('close() ends held requests', async () => {
    const other = await startLwaSandbox({ port: 0 });
    other.queueFault({ endpoint: 'token', kind: 'timeout' });
    const pending = failureOf(
      refresh(other, other.issueTokens().refresh_token),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    await other.close();

    expect((await pending).name).toBe('TypeError');
  });
});
