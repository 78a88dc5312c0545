import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import {
  RunningSandbox,
  s256CodeChallenge,
  startLwaSandbox,
} from '@keeper/lwa-sandbox';
import { createHash } from 'node:crypto';
import { AMAZON_ENDPOINTS } from '../../src/amazon/amazon-regions';
import { LwaClient } from '../../src/amazon/lwa.client';
import {
  connectAccount,
  consent,
  ConsentLeg,
  logIn,
  TEST_ADMIN_PASSWORD,
} from '../connect-flow';
import { createTestDatabase, TestDatabase } from '../test-database';
import { startTestApp } from '../test-app';

const FERNET_KEY = Fernet.generateKey();
const SERVICE_KEY = 'svc-bcp-key-0123456789abcdef';
const REDIRECT_URI = 'https://keeper.example.com/api/v1/auth/amazon/callback';
const CONSOLE_URL = 'https://keeper.example.com';

/** What the LWA client hands its transport (`body`; `data` in its axios days). */
interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  data?: string;
}

/** One request the API made to "Amazon", as it left the process (before the test routed it to the sandbox). */
interface AmazonRequest {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * The checks of RFC 9700 (OAuth 2.0 Security Best Current Practice) that apply to a confidential
 * client using the authorization code grant, one test each, against the LWA sandbox.
 *
 * The app runs with Amazon's real per-region token URLs (no AMAZON_TOKEN_URL override). The LWA
 * client's last step before the transport is wrapped: every request is recorded as the API made
 * it and only then sent to the sandbox, so the tests see which region's token endpoint was asked
 * and with what.
 */
describe('OAuth 2.0 Security BCP (RFC 9700) for a confidential client', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let session: string;
  const traffic: AmazonRequest[] = [];
  let sendSpy: jest.SpyInstance | undefined;

  const tokenRequests = () => sandbox.requests({ endpoint: 'token' });
  const callbackFor = (
    leg: ConsentLeg,
    extra = '',
    cookie = leg.bindingCookie,
  ) =>
    sut.inject({
      method: 'GET',
      url: `${leg.callbackUrl.pathname}${leg.callbackUrl.search}${extra}`,
      headers: cookie ? { cookie } : {},
    });
  const outcomeOf = (response: Awaited<ReturnType<typeof callbackFor>>) =>
    new URL(String(response.headers.location)).searchParams.get('connect');

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox({
      clientSecret: 'bcp-client-secret-0123456789',
      redirectUris: [REDIRECT_URI],
    });
    sut = await startTestApp(database, {
      AMAZON_CLIENT_ID: sandbox.clientId,
      AMAZON_CLIENT_SECRET: sandbox.clientSecret,
      AMAZON_REDIRECT_URI: REDIRECT_URI,
      CONSOLE_URL,
      AMAZON_AUTHORIZE_URL: `${sandbox.url}/ap/oa`,
      AMAZON_ADS_API_URL: sandbox.url,
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      SERVICE_API_KEYS: SERVICE_KEY,
      FERNET_KEYS: FERNET_KEY,
      REFRESH_CRON: '0 0 0 1 1 *',
    });
    const tokenUrls = new Set(
      Object.values(AMAZON_ENDPOINTS).map((endpoints) => endpoints.tokenUrl),
    );
    type Send = (
      call: { request: OutgoingRequest },
      signal?: AbortSignal,
    ) => Promise<unknown>;
    const client = LwaClient.prototype as unknown as { send: Send };
    const send = client.send;
    sendSpy = jest.spyOn(client, 'send').mockImplementation(function (
      this: LwaClient,
      call,
      signal,
    ) {
      const { request } = call;
      traffic.push({
        method: request.method,
        url: request.url,
        headers: { ...request.headers },
        body: String(request.body ?? request.data ?? ''),
      });
      // Amazon is out of reach: its token endpoints are served by the sandbox.
      const url = tokenUrls.has(request.url)
        ? `${sandbox.url}/auth/o2/token`
        : request.url;
      return send.call(this, { ...call, request: { ...request, url } }, signal);
    });
    session = await logIn(sut);
  });

  afterAll(async () => {
    sendSpy?.mockRestore();
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  beforeEach(() => {
    sandbox.clearRequests();
    sandbox.clearFaults();
    traffic.length = 0;
  });

  describe('PKCE (RFC 9700 2.1.1)', () => {
    it('sends an S256 challenge (never plain) on every authorization request, fresh each time', async () => {
      const legs = [];
      for (const region of ['na', 'eu', 'fe', 'na', 'na'] as const)
        legs.push(await consent(sut, session, { region }));
      const params = legs.map((leg) =>
        Object.fromEntries(leg.authorizationUrl.searchParams),
      );

      for (const param of params) {
        expect(param).toEqual({
          client_id: sandbox.clientId,
          scope: 'advertising::campaign_management',
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          code_challenge_method: 'S256',
        });
      }
      expect(new Set(params.map((param) => param.code_challenge)).size).toBe(
        legs.length,
      );
      expect(new Set(params.map((param) => param.state)).size).toBe(
        legs.length,
      );
    });

    it('proves possession in the token request: the verifier whose S256 is the challenge, 256 bits of entropy', async () => {
      const leg = await consent(sut, session, { account: 'PKCE Co' });
      expect(outcomeOf(await callbackFor(leg))).toBe('connected');

      const [exchange] = traffic.filter((request) =>
        request.body.includes('grant_type=authorization_code'),
      );
      const verifier = new URLSearchParams(exchange.body).get(
        'code_verifier',
      ) as string;
      expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
      expect(s256CodeChallenge(verifier)).toBe(
        leg.authorizationUrl.searchParams.get('code_challenge'),
      );
      // The verifier is single-use at rest too: gone from the state row once read.
      const rows = await database.query<{
        code_verifier_ciphertext: string | null;
      }>(
        'SELECT code_verifier_ciphertext FROM oauth_states WHERE consumed_at IS NOT NULL',
      );
      expect(rows.every((row) => row.code_verifier_ciphertext === null)).toBe(
        true,
      );
    });
  });

  describe('CSRF: state is single-use, bound to the browser, expiring (RFC 9700 2.1, 4.7)', () => {
    it('stores the state only hashed', async () => {
      const leg = await consent(sut, session);
      const state = leg.authorizationUrl.searchParams.get('state') as string;
      const dump = JSON.stringify(
        await database.query('SELECT * FROM oauth_states'),
      );

      expect(dump).not.toContain(state);
      expect(dump).toContain(createHash('sha256').update(state).digest('hex'));
    });

    it('refuses a missing, malformed, duplicated or forged state with no token request', async () => {
      const leg = await consent(sut, session);
      const code = leg.callbackUrl.searchParams.get('code') as string;
      const state = leg.callbackUrl.searchParams.get('state') as string;
      const base = leg.callbackUrl.pathname;
      for (const search of [
        `?code=${code}`,
        `?code=${code}&state=short`,
        `?code=${code}&state=${state}&state=${state}`,
        `?code=${code}&state=${'A'.repeat(43)}`,
      ]) {
        const response = await sut.inject({
          method: 'GET',
          url: `${base}${search}`,
          headers: { cookie: leg.bindingCookie },
        });
        expect(outcomeOf(response)).toBe('state_invalid');
      }
      expect(tokenRequests()).toHaveLength(0);
    });

    it('refuses a state started in another browser (another binding cookie, or none) with no token request', async () => {
      const leg = await consent(sut, session);
      // Another browser is another admin session, with a binding of its own.
      const other = await consent(sut, await logIn(sut));
      expect(other.bindingCookie).not.toBe(leg.bindingCookie);

      const foreign = await callbackFor(leg, '', other.bindingCookie);
      const none = await callbackFor(leg, '', '');
      const forgedBinding = await callbackFor(
        leg,
        '',
        `atk_oauth=${'B'.repeat(43)}`,
      );

      const reasonOf = (response: Awaited<ReturnType<typeof callbackFor>>) =>
        new URL(String(response.headers.location)).searchParams.get('reason');
      expect([
        outcomeOf(foreign),
        outcomeOf(none),
        outcomeOf(forgedBinding),
      ]).toEqual(['state_invalid', 'state_invalid', 'state_invalid']);
      expect(reasonOf(foreign)).toContain('started in another browser');
      expect(reasonOf(forgedBinding)).toContain('started in another browser');
      expect(reasonOf(none)).toContain('did not bring back the sign-in cookie');
      expect(tokenRequests()).toHaveLength(0);
      // The foreign attempt leaves the other browser's own consent alone: its cookie is kept.
      expect(foreign.headers['set-cookie']).toBeUndefined();
      // The rightful browser can still finish: a foreign attempt does not burn the state.
      expect(outcomeOf(await callbackFor(leg))).toBe('connected');
    });

    it('gives every consent of one browser session the same binding, and a new session another', async () => {
      const first = await consent(sut, session);
      const second = await consent(sut, session, { region: 'eu' });
      const elsewhere = await consent(sut, await logIn(sut));

      expect(first.bindingCookie).toMatch(/^atk_oauth=[A-Za-z0-9_-]{43}$/);
      expect(second.bindingCookie).toBe(first.bindingCookie);
      expect(elsewhere.bindingCookie).not.toBe(first.bindingCookie);
      // Stored only hashed, like the state.
      const dump = JSON.stringify(
        await database.query('SELECT * FROM oauth_states'),
      );
      expect(dump).not.toContain(
        first.bindingCookie.slice('atk_oauth='.length),
      );
    });

    it('says which of unknown, expired, already used or foreign a refused state was', async () => {
      const reasons: Record<string, string> = {};
      const reasonOf = (response: Awaited<ReturnType<typeof callbackFor>>) =>
        `${outcomeOf(response)}: ${new URL(String(response.headers.location)).searchParams.get('reason')}`;
      const unknown = await consent(sut, session);
      unknown.callbackUrl.searchParams.set('state', 'U'.repeat(43));
      reasons.unknown = reasonOf(await callbackFor(unknown));
      const expired = await consent(sut, session);
      await database.query(
        "UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1",
        [
          createHash('sha256')
            .update(
              expired.authorizationUrl.searchParams.get('state') as string,
            )
            .digest('hex'),
        ],
      );
      reasons.expired = reasonOf(await callbackFor(expired));
      const used = await consent(sut, session, { account: 'Used Once Co' });
      await callbackFor(used);
      reasons.used = reasonOf(await callbackFor(used));
      reasons.foreign = reasonOf(
        await callbackFor(
          await consent(sut, session),
          '',
          (await consent(sut, await logIn(sut))).bindingCookie,
        ),
      );

      expect(reasons).toEqual({
        unknown:
          'state_invalid: This sign-in was not started here. Start again from the console.',
        expired:
          'state_expired: The sign-in took longer than 10 minutes. Start again.',
        used: 'state_invalid: This sign-in was already used.',
        foreign:
          'state_invalid: This sign-in was started in another browser (or before you logged in again). Start again from the console.',
      });
    });

    it('refuses an expired state (10 minutes) with no token request', async () => {
      const leg = await consent(sut, session);
      const stateHash = createHash('sha256')
        .update(leg.authorizationUrl.searchParams.get('state') as string)
        .digest('hex');
      const [row] = await database.query<{ lifetime: number }>(
        'SELECT extract(epoch FROM expires_at - created_at)::int AS lifetime FROM oauth_states WHERE state_hash = $1',
        [stateHash],
      );
      expect(row.lifetime).toBe(600);
      await database.query(
        "UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1",
        [stateHash],
      );

      expect(outcomeOf(await callbackFor(leg))).toBe('state_expired');
      expect(tokenRequests()).toHaveLength(0);
    });

    it('accepts a state once: a replayed callback makes no second token request', async () => {
      const leg = await consent(sut, session, { account: 'Replay Co' });
      expect(outcomeOf(await callbackFor(leg))).toBe('connected');
      expect(tokenRequests()).toHaveLength(1);

      const replay = await callbackFor(leg);
      expect(outcomeOf(replay)).toBe('state_invalid');
      expect(
        new URL(String(replay.headers.location)).searchParams.get('reason'),
      ).toContain('already used');
      expect(tokenRequests()).toHaveLength(1);
    });
  });

  describe('authorization code (RFC 9700 4.5)', () => {
    it('is exchanged once even when the same callback arrives three times at the same moment', async () => {
      const leg = await consent(sut, session, { account: 'Race Co' });
      const results = await Promise.all([
        callbackFor(leg),
        callbackFor(leg),
        callbackFor(leg),
      ]);

      expect(results.map(outcomeOf).sort()).toEqual([
        'connected',
        'state_invalid',
        'state_invalid',
      ]);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('is never exchanged for an error callback, even one that also carries a code', async () => {
      for (const error of ['access_denied', 'server_error', 'invalid_scope']) {
        const leg = await consent(sut, session);
        const response = await callbackFor(
          leg,
          `&error=${error}&error_description=nope`,
        );
        expect(response.statusCode).toBe(303);
        expect(outcomeOf(response)).toBe(
          error === 'access_denied' ? 'access_denied' : 'amazon_error',
        );
      }
      const denied = await consent(sut, session, { decision: 'deny' });
      expect(outcomeOf(await callbackFor(denied))).toBe('access_denied');

      expect(tokenRequests()).toHaveLength(0);
    });
  });

  describe('redirect URIs and open redirects (RFC 9700 2.1, 4.1, 4.11)', () => {
    it('sends exactly the configured redirect_uri, in the authorization request and the token request', async () => {
      const leg = await consent(sut, session, { account: 'Exact Co' });
      await callbackFor(leg);

      expect(leg.authorizationUrl.searchParams.getAll('redirect_uri')).toEqual([
        REDIRECT_URI,
      ]);
      const [exchange] = traffic.filter((request) =>
        request.body.includes('grant_type=authorization_code'),
      );
      expect(new URLSearchParams(exchange.body).getAll('redirect_uri')).toEqual(
        [REDIRECT_URI],
      );
      // The sandbox compares it byte for byte with the registered one: the exchange succeeded.
      expect(tokenRequests().map((request) => request.status)).toEqual([200]);
    });

    it('lets no parameter choose where start or the callback sends the browser', async () => {
      const evil = encodeURIComponent('https://evil.example/steal');
      const params = [
        'redirect_uri',
        'return_to',
        'returnTo',
        'next',
        'callback',
        'continue',
      ];
      for (const param of params) {
        const start = await sut.inject({
          method: 'GET',
          url: `/api/v1/auth/amazon/start?region=na&${param}=${evil}`,
          headers: { cookie: session },
        });
        expect(start.statusCode).toBe(400);
        expect(`${String(start.headers.location)} ${start.body}`).not.toContain(
          'evil.example',
        );

        const leg = await consent(sut, session);
        const back = await callbackFor(leg, `&${param}=${evil}`);
        const location = new URL(String(back.headers.location));
        expect(`${location.origin}${location.pathname}`).toBe(
          `${CONSOLE_URL}/connections`,
        );
        expect(String(back.headers.location)).not.toContain('evil.example');
      }
      for (const param of params) {
        const orphan = await sut.inject({
          method: 'GET',
          url: `/api/v1/auth/amazon/callback?${param}=${evil}`,
        });
        expect(
          String(orphan.headers.location).startsWith(
            `${CONSOLE_URL}/connections?`,
          ),
        ).toBe(true);
      }
    });
  });

  describe('what the browser sees (RFC 9700 4.2, 4.3)', () => {
    it('never puts a code, state or token into a URL the browser is sent to, whatever the outcome', async () => {
      const cases: [string, () => Promise<ConsentLeg>, string][] = [
        [
          'connected',
          () => consent(sut, session, { account: 'Location Co' }),
          '',
        ],
        [
          'reconnected',
          () => consent(sut, session, { account: 'Location Co' }),
          '',
        ],
        [
          'access_denied',
          () => consent(sut, session, { decision: 'deny' }),
          '',
        ],
        [
          'amazon_error',
          async () => {
            sandbox.queueFault({ endpoint: 'token', kind: 'invalid_grant' });
            return consent(sut, session);
          },
          '',
        ],
        [
          'state_invalid',
          () => consent(sut, session),
          `&state=${'A'.repeat(43)}`,
        ],
      ];
      for (const [outcome, leg, extra] of cases) {
        const consented = await leg();
        const response = await callbackFor(consented, extra);
        const location = String(response.headers.location);
        expect(outcomeOf(response)).toBe(outcome);
        for (const [name, value] of consented.callbackUrl.searchParams) {
          if (name === 'code' || name === 'state')
            expect(location).not.toContain(value);
        }
        expect(location).not.toMatch(
          /Atz[ar]\||[?&](code|state|access_token|refresh_token|id_token)=/i,
        );
      }
    });

    it('answers the callback with Referrer-Policy: no-referrer and Cache-Control: no-store, always 303', async () => {
      // A browser with no other consent pending, so the binding cookie is spent with this one.
      const ok = await callbackFor(
        await consent(sut, await logIn(sut), { account: 'Referrer Co' }),
      );
      const bad = await sut.inject({
        method: 'GET',
        url: '/api/v1/auth/amazon/callback?code=x&state=y',
      });
      for (const response of [ok, bad]) {
        expect(response.statusCode).toBe(303);
        expect(response.headers['referrer-policy']).toBe('no-referrer');
        expect(response.headers['cache-control']).toBe('no-store');
      }
      // The binding cookie is spent with the callback.
      expect(String(ok.headers['set-cookie'])).toMatch(
        /atk_oauth=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i,
      );
    });

    it('never sends a refresh token to the browser (console responses, refresh now, the jobs endpoint)', async () => {
      const id = await connectAccount(sut, session, {
        account: 'Refresh Secret Co',
      });
      const [row] = await database.query<{ refresh_token_ciphertext: string }>(
        'SELECT refresh_token_ciphertext FROM connections WHERE id = $1',
        [id],
      );
      const refreshToken = new Fernet(FERNET_KEY)
        .decrypt(row.refresh_token_ciphertext)
        .toString();
      expect(refreshToken).toMatch(/^Atzr\|/);

      const bodies = [];
      for (const [method, url] of [
        ['GET', '/api/v1/connections'],
        ['GET', `/api/v1/connections/${id}`],
        ['POST', `/api/v1/connections/${id}/refresh`],
        ['GET', '/api/v1/audit-events?limit=200'],
        ['GET', '/api/v1/system'],
        ['GET', '/api/v1/session'],
      ] as const) {
        const response = await sut.inject({
          method,
          url,
          headers: { cookie: session },
        });
        expect(response.statusCode).toBe(200);
        bodies.push(JSON.stringify(response.headers) + response.body);
      }
      const forJobs = await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${id}/access-token`,
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });
      expect(Object.keys(forJobs.json()).sort()).toEqual([
        'accessToken',
        'expiresAt',
        'tokenType',
      ]);
      bodies.push(forJobs.body);

      for (const body of bodies) {
        expect(body).not.toContain(refreshToken);
        expect(body).not.toContain('Atzr|');
      }
    });
  });

  describe('client authentication and mix-up (RFC 9700 4.4, 4.12)', () => {
    it("exchanges a code at the token endpoint of the state's region only, whatever the callback adds", async () => {
      for (const region of ['na', 'eu', 'fe'] as const) {
        traffic.length = 0;
        const leg = await consent(sut, session, {
          region,
          account: `Mix-up ${region}`,
        });
        const other = region === 'na' ? 'eu' : 'na';
        const response = await callbackFor(
          leg,
          `&region=${other}&iss=${encodeURIComponent(AMAZON_ENDPOINTS[other].tokenUrl)}`,
        );

        expect(outcomeOf(response)).toBe('connected');
        expect(
          traffic
            .filter((request) => request.body.includes('grant_type='))
            .map((request) => request.url),
        ).toEqual([AMAZON_ENDPOINTS[region].tokenUrl]);
        const connectionId = new URL(
          String(response.headers.location),
        ).searchParams.get('connectionId');
        const connection = await sut.inject({
          method: 'GET',
          url: `/api/v1/connections/${connectionId}`,
          headers: { cookie: session },
        });
        expect(connection.json().region).toBe(region);
      }
    });

    it('sends the client secret only in the body of POSTs to the configured token endpoint over https', async () => {
      const id = await connectAccount(sut, session, {
        region: 'eu',
        account: 'Secret Route Co',
      });
      await sut.inject({
        method: 'POST',
        url: `/api/v1/connections/${id}/refresh`,
        headers: { cookie: session },
      });
      await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${id}/access-token`,
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });

      const secret = sandbox.clientSecret;
      const carrying = traffic.filter((request) =>
        JSON.stringify(request).includes(secret),
      );
      expect(traffic.length).toBeGreaterThanOrEqual(3);
      expect(carrying.length).toBeGreaterThanOrEqual(2);
      for (const request of carrying) {
        expect(request.method).toBe('POST');
        expect(request.url).toBe(AMAZON_ENDPOINTS.eu.tokenUrl);
        expect(request.url.startsWith('https://')).toBe(true);
        expect(request.url).not.toContain(secret);
        expect(JSON.stringify(request.headers)).not.toContain(secret);
        expect(
          new URLSearchParams(request.body).getAll('client_secret'),
        ).toEqual([secret]);
      }
      // Every grant, the refresh included, authenticates the client (RFC 9700 4.14: refresh tokens bound to it).
      const grants = traffic.filter((request) =>
        request.body.includes('grant_type='),
      );
      expect(
        grants
          .map((request) => new URLSearchParams(request.body).get('grant_type'))
          .sort(),
      ).toEqual(['authorization_code', 'refresh_token']);
      for (const request of grants)
        expect(new URLSearchParams(request.body).get('client_id')).toBe(
          sandbox.clientId,
        );
    });

    it("uses Amazon's own endpoints over https for every region when no override is set", () => {
      for (const endpoints of Object.values(AMAZON_ENDPOINTS)) {
        for (const url of Object.values(endpoints))
          expect(new URL(url).protocol).toBe('https:');
      }
    });
  });
});
