import { startLwaSandbox } from './lwa-sandbox';
import { ManualClock } from './sandbox-clock';
import type { RunningSandbox } from './sandbox-options';
import {
  exchangeCode,
  getProfiles,
  obtainCode,
  postToken,
  REDIRECT_URI,
  refresh,
} from '../testing/sandbox-test-kit';

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

async function json(response: Response): Promise<TokenBody> {
  return (await response.json()) as TokenBody;
}

describe(`${startLwaSandbox.name}: POST /auth/o2/token`, () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let sut: RunningSandbox;

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, clock });
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  describe('grant_type=authorization_code', () => {
    it('exchanges a PKCE-bound code for tokens shaped like Amazon’s', async () => {
      const { code, codeVerifier, redirect } = await obtainCode(sut);

      const response = await exchangeCode(sut, code, codeVerifier);

      expect(redirect.searchParams.get('state')).toBe('state-123');
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = await json(response);
      expect(Object.keys(body)).toEqual([
        'access_token',
        'refresh_token',
        'token_type',
        'expires_in',
      ]);
      expect(body).toEqual({
        access_token: expect.stringMatching(/^Atza\|/),
        refresh_token: expect.stringMatching(/^Atzr\|/),
        token_type: 'bearer',
        expires_in: 3600,
      });
    });

    it('accepts client credentials as HTTP Basic', async () => {
      const { code, codeVerifier } = await obtainCode(sut);
      const basic = Buffer.from(
        `${encodeURIComponent(sut.clientId)}:${encodeURIComponent(sut.clientSecret)}`,
      ).toString('base64');

      const response = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: { Authorization: `Basic ${basic}` },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: codeVerifier,
        }),
      });

      expect(response.status).toBe(200);
    });

    it('refuses a wrong code_verifier, then still honours the right one', async () => {
      const { code, codeVerifier } = await obtainCode(sut);

      const wrong = await exchangeCode(sut, code, 'x'.repeat(43));
      const right = await exchangeCode(sut, code, codeVerifier);

      expect(wrong.status).toBe(400);
      expect(await json(wrong)).toEqual({
        error: 'invalid_grant',
        error_description: expect.stringContaining('code_verifier'),
      });
      expect(right.status).toBe(200);
    });

    it('asks for a missing code_verifier', async () => {
      const { code } = await obtainCode(sut);

      const response = await postToken(sut, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
      });

      expect(await json(response)).toEqual(
        expect.objectContaining({
          error: 'invalid_request',
          error_description: expect.stringContaining('code_verifier'),
        }),
      );
    });

    it('refuses a redirect_uri that differs by one byte', async () => {
      const { code, codeVerifier } = await obtainCode(sut);

      const response = await exchangeCode(sut, code, codeVerifier, {
        redirect_uri: `${REDIRECT_URI}/`,
      });

      expect(response.status).toBe(400);
      expect(await json(response)).toEqual(
        expect.objectContaining({
          error: 'invalid_grant',
          error_description: expect.stringContaining('redirect_uri'),
        }),
      );
    });

    it('honours a code once and revokes its tokens when it comes back', async () => {
      const { code, codeVerifier } = await obtainCode(sut);
      const first = await json(await exchangeCode(sut, code, codeVerifier));

      const reused = await exchangeCode(sut, code, codeVerifier);

      expect(reused.status).toBe(400);
      expect((await json(reused)).error).toBe('invalid_grant');
      expect((await refresh(sut, first.refresh_token ?? '')).status).toBe(400);
      expect((await getProfiles(sut, first.access_token ?? '')).status).toBe(
        401,
      );
    });

    it('lets a code expire after five minutes', async () => {
      const { code, codeVerifier } = await obtainCode(sut);
      clock.advance(300_000);

      const response = await exchangeCode(sut, code, codeVerifier);

      expect(await json(response)).toEqual({
        error: 'invalid_grant',
        error_description: expect.stringContaining('expired'),
      });
    });

    it('still honours a code just before it expires', async () => {
      const { code, codeVerifier } = await obtainCode(sut);
      clock.advance(299_000);

      expect((await exchangeCode(sut, code, codeVerifier)).status).toBe(200);
    });

    it('refuses an unknown code and a missing one', async () => {
      const unknown = await exchangeCode(
        sut,
        'ANnotARealCode123456',
        'x'.repeat(43),
      );
      const missing = await postToken(sut, {
        grant_type: 'authorization_code',
        redirect_uri: REDIRECT_URI,
      });

      expect((await json(unknown)).error).toBe('invalid_grant');
      expect(await json(missing)).toEqual({
        error: 'invalid_request',
        error_description: 'The request is missing a required parameter : code',
      });
    });
  });

  describe('client authentication', () => {
    it.each([
      ['a wrong secret', { client_secret: 'nope' }],
      [
        'an unknown client',
        { client_id: 'amzn1.application-oa2-client.other' },
      ],
      ['an empty secret', { client_secret: '' }],
    ])('answers 401 invalid_client for %s', async (_, credentials) => {
      const response = await postToken(sut, {
        grant_type: 'refresh_token',
        refresh_token: 'Atzr|x',
        ...credentials,
      });

      expect(response.status).toBe(401);
      expect(await json(response)).toEqual({
        error: 'invalid_client',
        error_description: 'Client authentication failed',
      });
    });

    it('challenges a bad Basic header', async () => {
      const response = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${sut.clientId}:wrong`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'Atzr|x',
        }),
      });

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Basic');
    });

    it('refuses two authentication methods at once', async () => {
      const basic = Buffer.from(`${sut.clientId}:${sut.clientSecret}`).toString(
        'base64',
      );

      const response = await postToken(
        sut,
        { grant_type: 'refresh_token', refresh_token: 'Atzr|x' },
        { headers: { Authorization: `Basic ${basic}` } },
      );

      expect((await json(response)).error).toBe('invalid_request');
    });
  });

  describe('grant_type=refresh_token', () => {
    it('answers a new access token and no refresh token when rotation is off', async () => {
      const issued = sut.issueTokens();

      const response = await refresh(sut, issued.refresh_token);
      const again = await refresh(sut, issued.refresh_token);

      const body = await json(response);
      expect(body).toEqual({
        access_token: expect.stringMatching(/^Atza\|/),
        token_type: 'bearer',
        expires_in: 3600,
      });
      expect(body.access_token).not.toBe(issued.access_token);
      expect(again.status).toBe(200);
    });

    it('answers after tokenDelayMs, counting the requests in flight meanwhile', async () => {
      sut.updateSettings({ tokenDelayMs: 300 });
      const issued = Array.from({ length: 5 }, () => sut.issueTokens());

      const answers = issued.map((tokens) =>
        refresh(sut, tokens.refresh_token),
      );
      // All five wait out the delay together (the sandbox's own count, not a timing guess).
      while (sut.counts().tokenRequestsInFlight < 5)
        await new Promise((resolve) => setTimeout(resolve, 5));
      const statuses = (await Promise.all(answers)).map(
        (answer) => answer.status,
      );

      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(sut.counts()).toMatchObject({
        tokenRequestsInFlight: 0,
        peakTokenRequestsInFlight: 5,
      });
      for (const entry of sut.requests({ endpoint: 'token' }))
        expect(entry.durationMs).toBeGreaterThanOrEqual(290);
      sut.clearRequests();
      expect(sut.counts().peakTokenRequestsInFlight).toBe(0);
    });

    it('rotates: a new refresh token each time, the old one refused', async () => {
      sut.updateSettings({
        rotateRefreshTokens: true,
        accessTokenLifetimeSeconds: 60,
      });
      const issued = sut.issueTokens();

      const rotated = await json(await refresh(sut, issued.refresh_token));
      const reused = await refresh(sut, issued.refresh_token);
      const next = await refresh(sut, rotated.refresh_token ?? '');

      expect(rotated).toEqual({
        access_token: expect.stringMatching(/^Atza\|/),
        refresh_token: expect.stringMatching(/^Atzr\|/),
        token_type: 'bearer',
        expires_in: 60,
      });
      expect(rotated.refresh_token).not.toBe(issued.refresh_token);
      expect(reused.status).toBe(400);
      expect((await json(reused)).error).toBe('invalid_grant');
      expect(next.status).toBe(200);
    });

    it('refuses a revoked refresh token', async () => {
      const issued = sut.issueTokens();
      expect(sut.revokeRefreshToken(issued.refresh_token)).toBe(true);

      const response = await refresh(sut, issued.refresh_token);

      expect(response.status).toBe(400);
      expect(await json(response)).toEqual({
        error: 'invalid_grant',
        error_description: expect.stringContaining('refresh_token'),
      });
    });

    it('asks for a missing refresh_token', async () => {
      const response = await postToken(sut, { grant_type: 'refresh_token' });

      expect(await json(response)).toEqual(
        expect.objectContaining({ error: 'invalid_request' }),
      );
    });
  });

  describe('malformed requests', () => {
    it.each([
      ['no grant_type', {}, 'invalid_request'],
      [
        'an unknown grant_type',
        { grant_type: 'password' },
        'unsupported_grant_type',
      ],
      [
        'client_credentials',
        { grant_type: 'client_credentials' },
        'unauthorized_client',
      ],
    ])('answers 400 for %s', async (_, params, error) => {
      const response = await postToken(sut, params);

      expect(response.status).toBe(400);
      expect((await json(response)).error).toBe(error);
    });

    it('refuses a JSON body', async () => {
      const response = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token' }),
      });

      expect(response.status).toBe(400);
      expect(await json(response)).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining('x-www-form-urlencoded'),
      });
    });

    it('refuses a parameter sent twice', async () => {
      const body = `grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=${sut.clientId}&client_secret=${sut.clientSecret}`;

      const response = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      });

      expect(await json(response)).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining('refresh_token'),
      });
    });

    it('answers 405 to GET', async () => {
      const response = await fetch(`${sut.url}/auth/o2/token`);

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    });

    it('refuses a body over 64 kB with 413', async () => {
      const response = await postToken(sut, {
        grant_type: 'refresh_token',
        refresh_token: 'x'.repeat(70_000),
      });

      expect(response.status).toBe(413);
      expect((await json(response)).error).toBe('invalid_request');
    });

    it('survives percent-encoding garbage and binary bodies', async () => {
      const garbage = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '%E0%A4%A&grant_type=%%%&\u0000=\uffff',
      });
      const binary = await fetch(`${sut.url}/auth/o2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new Uint8Array([0xff, 0xfe, 0x00, 0x3d, 0x26]),
      });

      expect(garbage.status).toBe(400);
      expect(binary.status).toBe(400);
      expect((await fetch(`${sut.url}/__sandbox/health`)).status).toBe(200);
    });
  });
});
