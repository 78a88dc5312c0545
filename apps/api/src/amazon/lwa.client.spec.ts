import { REGIONS } from '@keeper/contracts';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { loadAppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { AMAZON_ENDPOINTS } from './amazon-regions';
import { AmazonModule } from './amazon.module';
import {
  LwaAttempt,
  LwaCallOptions,
  LwaClient,
  LwaClientOptions,
} from './lwa.client';
import {
  LwaAbortedError,
  LwaError,
  LwaForbiddenError,
  LwaInvalidClientError,
  LwaInvalidGrantError,
  LwaMalformedResponseError,
  LwaNetworkError,
  LwaRateLimitedError,
  LwaRequestRejectedError,
  LwaServerError,
  LwaTimeoutError,
  LwaUnauthorizedError,
} from './lwa.errors';
import { Sleep } from './retry-policy';

/** One answer the fake Amazon gives, in the order the test scripts them. */
interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  delayMs?: number;
  /** Drop the connection instead of answering. */
  destroy?: boolean;
  /** Send the headers and half the body, then drop the connection. */
  cutBody?: boolean;
  /** Called once the request has arrived, before answering. */
  onRequest?: () => void;
}

interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  remotePort: number | undefined;
}

/** A tiny stand-in for LWA and the Ads API: answers as scripted, remembers every request. */
class FakeAmazon {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server = createServer((req, res) =>
    this.handle(req, res),
  );
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearTimeout);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
  }

  answer(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  answerTimes(times: number, answer: ScriptedAnswer): void {
    this.answer(...Array.from({ length: times }, () => answer));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      });
      const next = this.script.shift() ?? {
        status: 599,
        body: { error: 'unscripted request' },
      };
      next.onRequest?.();
      if (next.destroy) {
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        const body =
          typeof next.body === 'string'
            ? next.body
            : JSON.stringify(next.body ?? {});
        res.writeHead(next.status ?? 200, {
          'Content-Type': 'application/json',
          ...next.headers,
        });
        if (next.cutBody) {
          res.write(body.slice(0, body.length / 2), () =>
            setImmediate(() => req.socket.destroy()),
          );
          return;
        }
        res.end(body);
      };
      if (next.delayMs === undefined) return send();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, next.delayMs);
      this.timers.add(timer);
    });
  }
}

const CLIENT_ID = 'amzn1.application-oa2-client.0123456789abcdef';
const CLIENT_SECRET = 'amzn1.oa2-cs.v1.sec+ret/with=chars&more';
const REDIRECT_URI =
  'https://keeper.example.com:8443/api/v1/auth/amazon/callback';
const CODE = 'ANdNAVhyhqirUelHGEHA';
const CODE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const REFRESH_TOKEN = 'Atzr|IwEBIOldRefreshToken-0123456789';
const NEW_REFRESH_TOKEN = 'Atzr|IwEBINewRefreshToken-9876543210';
const ACCESS_TOKEN = 'Atza|IwEBIAccessToken-0123456789';
const SECRETS = [
  CLIENT_SECRET,
  CODE,
  CODE_VERIFIER,
  REFRESH_TOKEN,
  NEW_REFRESH_TOKEN,
  ACCESS_TOKEN,
];

const TOKENS = {
  access_token: ACCESS_TOKEN,
  refresh_token: REFRESH_TOKEN,
  token_type: 'bearer',
  expires_in: 3600,
};
const NOW = Date.parse('2025-03-01T12:00:00Z');
const TIMEOUT_MS = 200;

describe(LwaClient.name, () => {
  const amazon = new FakeAmazon();
  let moduleRef: TestingModule;
  let sut: LwaClient;
  let delays: number[];
  let logged: string[];

  async function build(
    environment: Record<string, string> = {},
    options: LwaClientOptions = {},
  ): Promise<LwaClient> {
    await moduleRef?.close();
    const config = loadAppConfig({
      AMAZON_CLIENT_ID: CLIENT_ID,
      AMAZON_CLIENT_SECRET: CLIENT_SECRET,
      AMAZON_REDIRECT_URI: REDIRECT_URI,
      AMAZON_TOKEN_URL: `${amazon.url}/auth/o2/token`,
      AMAZON_ADS_API_URL: `${amazon.url}/`,
      REFRESH_MAX_RETRIES: '2',
      ...environment,
    });
    const sleep: Sleep = async (ms) => {
      delays.push(ms);
    };
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config),
        AmazonModule.register({
          timeoutMs: TIMEOUT_MS,
          sleep,
          now: () => NOW,
          backoff: { baseMs: 100, capMs: 1_000 },
          ...options,
        }),
      ],
    }).compile();
    return moduleRef.get(LwaClient);
  }

  async function failureOf(call: Promise<unknown>): Promise<LwaError> {
    const error: unknown = await call.then(
      () => new Error('expected the call to fail'),
      (reason: unknown) => reason,
    );
    if (!(error instanceof LwaError)) throw error;
    return error;
  }

  beforeAll(() => amazon.start());
  afterAll(() => amazon.stop());

  beforeEach(async () => {
    amazon.reset();
    delays = [];
    logged = [];
    for (const level of [
      'log',
      'error',
      'warn',
      'debug',
      'verbose',
      'fatal',
    ] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => {
          logged.push(inspect(args));
        });
    }
    sut = await build();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await moduleRef.close();
  });

  describe('authorizationUrl', () => {
    it('points each region at its own consent page with the PKCE parameters', async () => {
      sut = await build({ AMAZON_TOKEN_URL: '', AMAZON_ADS_API_URL: '' });

      for (const region of REGIONS) {
        const url = new URL(
          sut.authorizationUrl(region, {
            state: 'state-123',
            codeChallenge: CODE_CHALLENGE,
          }),
        );

        expect(`${url.origin}${url.pathname}`).toBe(
          AMAZON_ENDPOINTS[region].consentUrl,
        );
        expect(Object.fromEntries(url.searchParams)).toEqual({
          client_id: CLIENT_ID,
          scope: 'advertising::campaign_management',
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          state: 'state-123',
          code_challenge: CODE_CHALLENGE,
          code_challenge_method: 'S256',
        });
      }
    });

    it('uses AMAZON_AUTHORIZE_URL for every region', async () => {
      sut = await build({
        AMAZON_AUTHORIZE_URL: 'http://localhost:4010/ap/oa',
      });

      const urls = REGIONS.map(
        (region) =>
          new URL(
            sut.authorizationUrl(region, {
              state: 's',
              codeChallenge: CODE_CHALLENGE,
            }),
          ),
      );

      expect(urls.map((url) => `${url.origin}${url.pathname}`)).toEqual(
        Array(3).fill('http://localhost:4010/ap/oa'),
      );
    });

    it('refuses a challenge that is not an S256 PKCE value', () => {
      expect(() =>
        sut.authorizationUrl('na', { state: 's', codeChallenge: 'short' }),
      ).toThrow(TypeError);
    });
  });

  describe('exchangeCode', () => {
    it('POSTs the form Amazon expects, redirect URI byte for byte, secret in the body', async () => {
      amazon.answer({ body: TOKENS });

      const tokens = await sut.exchangeCode('eu', {
        code: CODE,
        codeVerifier: CODE_VERIFIER,
      });

      expect(tokens).toEqual({
        accessToken: ACCESS_TOKEN,
        refreshToken: REFRESH_TOKEN,
        tokenType: 'bearer',
        expiresInSeconds: 3600,
      });
      const [request] = amazon.requests;
      expect(request).toMatchObject({ method: 'POST', path: '/auth/o2/token' });
      expect(request?.headers).toMatchObject({
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
        accept: 'application/json',
      });
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.body).toBe(
        'grant_type=authorization_code' +
          `&code=${CODE}` +
          '&redirect_uri=https%3A%2F%2Fkeeper.example.com%3A8443%2Fapi%2Fv1%2Fauth%2Famazon%2Fcallback' +
          `&code_verifier=${CODE_VERIFIER}` +
          `&client_id=${CLIENT_ID}` +
          '&client_secret=amzn1.oa2-cs.v1.sec%2Bret%2Fwith%3Dchars%26more',
      );
      expect(new URLSearchParams(request?.body).get('redirect_uri')).toBe(
        REDIRECT_URI,
      );
    });

    it('insists on a refresh token in the first exchange', async () => {
      amazon.answer({ body: { ...TOKENS, refresh_token: undefined } });

      const error = await failureOf(
        sut.exchangeCode(
          'na',
          { code: CODE, codeVerifier: CODE_VERIFIER },
          { maxRetries: 0 },
        ),
      );

      expect(error).toBeInstanceOf(LwaMalformedResponseError);
    });

    it('says an invalid code needs a new consent, in one request even with retries left', async () => {
      amazon.answer({
        status: 400,
        body: {
          error: 'invalid_grant',
          error_description: `The request has an invalid grant parameter : code ${CODE}`,
        },
      });

      const error = await failureOf(
        sut.exchangeCode(
          'na',
          { code: CODE, codeVerifier: CODE_VERIFIER },
          { maxRetries: 1 },
        ),
      );

      expect(error).toBeInstanceOf(LwaInvalidGrantError);
      expect(error).toMatchObject({
        grantType: 'authorization_code',
        transient: false,
        httpStatus: 409,
      });
      expect(error.message).toContain(
        'The request has an invalid grant parameter : code [Redacted]',
      );
      expect(amazon.requests).toHaveLength(1);
    });
  });

  describe('refresh', () => {
    it('POSTs the refresh grant and reports a rotated refresh token', async () => {
      amazon.answer({ body: { ...TOKENS, refresh_token: NEW_REFRESH_TOKEN } });

      const tokens = await sut.refresh('fe', REFRESH_TOKEN);

      expect(tokens).toEqual({
        accessToken: ACCESS_TOKEN,
        refreshToken: NEW_REFRESH_TOKEN,
        tokenType: 'bearer',
        expiresInSeconds: 3600,
      });
      expect(
        Object.fromEntries(new URLSearchParams(amazon.requests[0]?.body)),
      ).toEqual({
        grant_type: 'refresh_token',
        refresh_token: REFRESH_TOKEN,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      });
    });

    it.each([
      [
        'no refresh token',
        { access_token: ACCESS_TOKEN, token_type: 'bearer', expires_in: 3600 },
      ],
      ['the same refresh token', TOKENS],
    ])('reports no new refresh token when Amazon sends %s', async (_, body) => {
      amazon.answer({ body });

      const tokens = await sut.refresh('na', REFRESH_TOKEN);

      expect(tokens.refreshToken).toBeUndefined();
      expect(tokens.accessToken).toBe(ACCESS_TOKEN);
    });

    it('reuses one kept-alive connection for consecutive requests', async () => {
      amazon.answer({ body: TOKENS }, { body: TOKENS });

      await sut.refresh('na', REFRESH_TOKEN);
      await sut.refresh('na', REFRESH_TOKEN);

      expect(amazon.requests[1]?.remotePort).toBe(
        amazon.requests[0]?.remotePort,
      );
    });
  });

  describe('maps Amazon’s answers to typed errors, retrying only transient ones (maxRetries 2)', () => {
    const invalidRequest = {
      error: 'invalid_request',
      error_description:
        'The request is missing a required parameter : client_id',
    };
    it.each<
      [
        string,
        ScriptedAnswer,
        new (...args: never[]) => LwaError,
        Record<string, unknown>,
        number,
      ]
    >([
      [
        '400 invalid_grant',
        { status: 400, body: { error: 'invalid_grant' } },
        LwaInvalidGrantError,
        { kind: 'invalid_grant', httpStatus: 409 },
        1,
      ],
      [
        '401 invalid_client',
        { status: 401, body: { error: 'invalid_client' } },
        LwaInvalidClientError,
        { kind: 'invalid_client', httpStatus: 502 },
        1,
      ],
      [
        '400 unauthorized_client',
        { status: 400, body: { error: 'unauthorized_client' } },
        LwaInvalidClientError,
        { kind: 'invalid_client' },
        1,
      ],
      [
        '401 with an HTML body',
        { status: 401, body: '<html>no</html>' },
        LwaInvalidClientError,
        { kind: 'invalid_client' },
        1,
      ],
      [
        '400 invalid_request',
        { status: 400, body: invalidRequest },
        LwaRequestRejectedError,
        { kind: 'request_rejected', upstreamStatus: 400 },
        1,
      ],
      [
        '404',
        { status: 404, body: 'Not Found' },
        LwaRequestRejectedError,
        { kind: 'request_rejected', upstreamStatus: 404 },
        1,
      ],
      [
        '403',
        { status: 403, body: { message: 'Forbidden' } },
        LwaForbiddenError,
        { kind: 'forbidden', httpStatus: 502 },
        1,
      ],
      [
        '429',
        { status: 429, body: {} },
        LwaRateLimitedError,
        { kind: 'rate_limited', httpStatus: 503, retryAfterMs: undefined },
        3,
      ],
      [
        '429 with an unreadable Retry-After',
        { status: 429, headers: { 'Retry-After': 'soon' } },
        LwaRateLimitedError,
        { retryAfterMs: undefined },
        3,
      ],
      [
        '500',
        { status: 500, body: 'oops' },
        LwaServerError,
        { kind: 'server_error', upstreamStatus: 500, httpStatus: 502 },
        3,
      ],
      [
        '503',
        { status: 503, body: {} },
        LwaServerError,
        { kind: 'server_error', upstreamStatus: 503 },
        3,
      ],
      [
        'a timeout',
        { delayMs: TIMEOUT_MS * 4, body: TOKENS },
        LwaTimeoutError,
        { kind: 'timeout', httpStatus: 504 },
        3,
      ],
      [
        'a dropped connection',
        { destroy: true },
        LwaNetworkError,
        { kind: 'network', code: 'ECONNRESET' },
        3,
      ],
      [
        'a body cut off half-way',
        { body: { ...TOKENS, padding: 'x'.repeat(32 * 1024) }, cutBody: true },
        LwaNetworkError,
        { kind: 'network', code: 'ECONNRESET' },
        3,
      ],
      [
        'a body over the 64 KB a token answer may have',
        { body: { ...TOKENS, padding: 'x'.repeat(70 * 1024) } },
        LwaMalformedResponseError,
        { kind: 'malformed_response' },
        3,
      ],
      [
        'malformed JSON',
        { body: '{"access_token":"Atza|abc","token_' },
        LwaMalformedResponseError,
        { kind: 'malformed_response', httpStatus: 502 },
        3,
      ],
      [
        'an unexpected shape',
        { body: { ...TOKENS, expires_in: '3600' } },
        LwaMalformedResponseError,
        { kind: 'malformed_response' },
        3,
      ],
      [
        'a redirect',
        { status: 302, headers: { Location: 'https://example.com/' } },
        LwaMalformedResponseError,
        { upstreamStatus: 302 },
        3,
      ],
    ])('%s', async (_, answer, errorClass, fields, requests) => {
      amazon.answerTimes(requests, answer);

      const error = await failureOf(sut.refresh('na', REFRESH_TOKEN));

      expect(error).toBeInstanceOf(errorClass);
      expect(error).toMatchObject({ ...fields, transient: requests > 1 });
      expect(amazon.requests).toHaveLength(requests);
      expect(delays).toHaveLength(requests - 1);
      expect(error.message).not.toMatch(/Atz[ar]\||<html>|oops/i);
    });

    it('reports an unreachable Amazon as a network error after every retry', async () => {
      const closed = new FakeAmazon();
      await closed.start();
      await closed.stop();
      sut = await build({ AMAZON_TOKEN_URL: `${closed.url}/auth/o2/token` });

      const error = await failureOf(sut.refresh('na', REFRESH_TOKEN));

      expect(error).toMatchObject({
        kind: 'network',
        code: 'ECONNREFUSED',
        transient: true,
      });
      expect(delays).toHaveLength(2);
    });
  });

  describe('retries', () => {
    it('recovers from transient failures and reports every attempt', async () => {
      amazon.answer(
        { status: 503 },
        { status: 429, headers: { 'Retry-After': '1' } },
        { body: TOKENS },
      );
      const attempts: LwaAttempt[] = [];

      const tokens = await sut.refresh('na', REFRESH_TOKEN, {
        onAttempt: (attempt) => attempts.push(attempt),
      });

      expect(tokens.accessToken).toBe(ACCESS_TOKEN);
      expect(attempts).toEqual([
        {
          attempt: 1,
          outcome: 'server_error',
          status: 503,
          durationMs: expect.any(Number),
          delayMs: delays[0],
        },
        {
          attempt: 2,
          outcome: 'rate_limited',
          status: 429,
          durationMs: expect.any(Number),
          delayMs: 1_000,
        },
        {
          attempt: 3,
          outcome: 'ok',
          status: 200,
          durationMs: expect.any(Number),
        },
      ]);
    });

    it('backs off with full jitter below the exponential ceiling', async () => {
      sut = await build(
        { REFRESH_MAX_RETRIES: '4' },
        { backoff: { baseMs: 100, capMs: 300, random: () => 0.999 } },
      );
      amazon.answerTimes(5, { status: 500 });

      await failureOf(sut.refresh('na', REFRESH_TOKEN));

      expect(delays).toEqual([99, 199, 299, 299]);
    });

    it('waits at least Retry-After seconds', async () => {
      sut = await build({}, { backoff: { random: Math.random } });
      amazon.answer(
        { status: 429, headers: { 'Retry-After': '3' } },
        { status: 503, headers: { 'Retry-After': '2' } },
        { body: TOKENS },
      );

      await sut.refresh('na', REFRESH_TOKEN);

      expect(delays[0]).toBeGreaterThanOrEqual(3_000);
      expect(delays[1]).toBeGreaterThanOrEqual(2_000);
    });

    it('waits until a Retry-After HTTP-date', async () => {
      amazon.answerTimes(3, {
        status: 429,
        headers: { 'Retry-After': new Date(NOW + 7_000).toUTCString() },
      });

      const error = await failureOf(sut.refresh('na', REFRESH_TOKEN));

      expect(error).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 7_000,
      });
      expect(error.message).toContain('try again in 7 s');
      expect(delays).toEqual([7_000, 7_000]);
    });

    it('gives up at once when Retry-After is longer than it will hold a request', async () => {
      amazon.answer({ status: 429, headers: { 'Retry-After': '3600' } });

      const error = await failureOf(sut.refresh('na', REFRESH_TOKEN));

      expect(error).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 3_600_000,
      });
      expect(amazon.requests).toHaveLength(1);
    });

    it.each<[string, LwaCallOptions, number]>([
      ['REFRESH_MAX_RETRIES by default', {}, 3],
      ['fewer for an interactive caller', { maxRetries: 1 }, 2],
      ['none at all', { maxRetries: 0 }, 1],
    ])('retries %s', async (_, options, requests) => {
      amazon.answerTimes(requests, { status: 502 });

      await failureOf(sut.refresh('na', REFRESH_TOKEN, options));

      expect(amazon.requests).toHaveLength(requests);
    });

    it('stops when the caller aborts, mid-request or between attempts', async () => {
      const inFlight = new AbortController();
      amazon.answer({
        delayMs: TIMEOUT_MS / 2,
        body: TOKENS,
        onRequest: () => inFlight.abort(),
      });

      await expect(
        sut.refresh('na', REFRESH_TOKEN, { signal: inFlight.signal }),
      ).rejects.toBeInstanceOf(LwaAbortedError);
      expect(amazon.requests).toHaveLength(1);

      const waiting = new AbortController();
      const sleepUntilAborted: Sleep = (_, signal) =>
        new Promise((resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason));
          setTimeout(() => waiting.abort(), 10);
        });
      sut = await build({}, { sleep: sleepUntilAborted });
      amazon.reset();
      amazon.answer({ status: 500 });

      await expect(
        sut.refresh('na', REFRESH_TOKEN, { signal: waiting.signal }),
      ).rejects.toBeInstanceOf(LwaAbortedError);
      expect(amazon.requests).toHaveLength(1);
    });
  });

  describe('listProfiles', () => {
    const amazonProfile = {
      profileId: 3_141_592_653_589_793,
      countryCode: 'US',
      currencyCode: 'USD',
      dailyBudget: 999999999,
      timezone: 'America/Los_Angeles',
      accountInfo: {
        marketplaceStringId: 'ATVPDKIKX0DER',
        id: 'A2QQ1ZZHVBE1AS',
        type: 'seller',
        name: 'Grace Garden',
        validPaymentMethod: true,
      },
    };

    it('GETs /v2/profiles with the bearer token and client id and maps each profile', async () => {
      amazon.answer({
        body: [
          amazonProfile,
          {
            ...amazonProfile,
            profileId: 42,
            countryCode: 'CA',
            currencyCode: 'CAD',
          },
        ],
      });

      const profiles = await sut.listProfiles('na', ACCESS_TOKEN);

      expect(profiles).toEqual([
        {
          profileId: '3141592653589793',
          countryCode: 'US',
          currencyCode: 'USD',
          timezone: 'America/Los_Angeles',
          marketplaceStringId: 'ATVPDKIKX0DER',
          accountId: 'A2QQ1ZZHVBE1AS',
          accountName: 'Grace Garden',
          accountType: 'seller',
        },
        expect.objectContaining({
          profileId: '42',
          countryCode: 'CA',
          currencyCode: 'CAD',
        }),
      ]);
      expect(amazon.requests[0]).toMatchObject({
        method: 'GET',
        path: '/v2/profiles',
        headers: {
          authorization: `Bearer ${ACCESS_TOKEN}`,
          'amazon-advertising-api-clientid': CLIENT_ID,
        },
      });
    });

    it('says a refused access token is unauthorized, not a lost grant, without retrying', async () => {
      amazon.answer({
        status: 401,
        body: {
          code: 'UNAUTHORIZED',
          details: 'HTTP 401 Unauthorized',
          requestId: 'r1',
        },
      });

      const error = await failureOf(sut.listProfiles('na', ACCESS_TOKEN));

      expect(error).toBeInstanceOf(LwaUnauthorizedError);
      expect(error).toMatchObject({ kind: 'unauthorized', transient: false });
      expect(amazon.requests).toHaveLength(1);
    });

    it.each<[string, ScriptedAnswer, string, number]>([
      [
        'an incomplete profile',
        { body: [{ ...amazonProfile, accountInfo: undefined }] },
        'malformed_response',
        3,
      ],
      [
        'malformed JSON',
        { body: '[{"profileId":31415926,"countryCode":"US","currencyCo' },
        'malformed_response',
        3,
      ],
      [
        'an object instead of a list',
        { body: { profiles: [] } },
        'malformed_response',
        3,
      ],
      [
        '403',
        {
          status: 403,
          body: { code: 'UNAUTHORIZED', details: 'Not an advertiser' },
        },
        'forbidden',
        1,
      ],
      [
        '429',
        { status: 429, headers: { 'Retry-After': '1' } },
        'rate_limited',
        3,
      ],
    ])('maps %s', async (_, answer, kind, requests) => {
      amazon.answerTimes(requests, answer);

      const error = await failureOf(sut.listProfiles('na', ACCESS_TOKEN));

      expect(error.kind).toBe(kind);
      expect(amazon.requests).toHaveLength(requests);
    });
  });

  describe('listDspAdvertisers', () => {
    const PROFILE_ID = '3141592653589793';
    const advertiser = (
      advertiserId: string,
      name = `DSP ${advertiserId}`,
    ) => ({
      advertiserId,
      name,
      currency: 'USD',
      url: 'https://example.com',
      country: 'US',
      timezone: 'America/Los_Angeles',
    });

    it('GETs /dsp/advertisers with the profile as scope and maps each advertiser', async () => {
      amazon.answer({
        body: {
          totalResults: 2,
          response: [advertiser('5810000000001'), advertiser('5810000000002')],
        },
      });

      const advertisers = await sut.listDspAdvertisers(
        'na',
        ACCESS_TOKEN,
        PROFILE_ID,
      );

      expect(advertisers).toEqual([
        {
          advertiserId: '5810000000001',
          name: 'DSP 5810000000001',
          countryCode: 'US',
          currency: 'USD',
          timezone: 'America/Los_Angeles',
          profileId: PROFILE_ID,
        },
        expect.objectContaining({ advertiserId: '5810000000002' }),
      ]);
      expect(amazon.requests).toHaveLength(1);
      expect(amazon.requests[0]).toMatchObject({
        method: 'GET',
        path: '/dsp/advertisers?startIndex=0&count=100',
        headers: {
          authorization: `Bearer ${ACCESS_TOKEN}`,
          'amazon-advertising-api-clientid': CLIENT_ID,
          'amazon-advertising-api-scope': PROFILE_ID,
        },
      });
    });

    it('reads every page, and keeps a numeric advertiser id exact', async () => {
      amazon.answer(
        {
          body: `{"totalResults":3,"response":[${JSON.stringify(advertiser('1'))},{"advertiserId":9007199254740993,"name":"Big","currency":"EUR","country":"DE","timezone":"Europe/Berlin"}]}`,
        },
        { body: { totalResults: 3, response: [advertiser('3')] } },
      );

      const advertisers = await sut.listDspAdvertisers(
        'na',
        ACCESS_TOKEN,
        PROFILE_ID,
      );

      expect(advertisers.map((each) => each.advertiserId)).toEqual([
        '1',
        '9007199254740993',
        '3',
      ]);
      expect(amazon.requests.map((request) => request.path)).toEqual([
        '/dsp/advertisers?startIndex=0&count=100',
        '/dsp/advertisers?startIndex=2&count=100',
      ]);
    });

    it('stops when a page brings nothing new (an API that ignores startIndex)', async () => {
      const page = {
        body: { totalResults: 5, response: [advertiser('1'), advertiser('2')] },
      };
      amazon.answer(page, page, page);

      const advertisers = await sut.listDspAdvertisers(
        'na',
        ACCESS_TOKEN,
        PROFILE_ID,
      );

      expect(advertisers).toHaveLength(2);
      expect(amazon.requests).toHaveLength(2);
    });

    it('refuses a scope that is not a profile id, without a request', async () => {
      await expect(
        sut.listDspAdvertisers('na', ACCESS_TOKEN, '123\r\nX-Evil: 1'),
      ).rejects.toBeInstanceOf(TypeError);
      expect(amazon.requests).toHaveLength(0);
    });

    it.each<[string, ScriptedAnswer, string, number]>([
      [
        '401',
        { status: 401, body: { code: 'UNAUTHORIZED', details: 'HTTP 401' } },
        'unauthorized',
        1,
      ],
      [
        'no totalResults',
        { body: { response: [advertiser('1')] } },
        'malformed_response',
        3,
      ],
      [
        'an advertiser without a currency',
        {
          body: {
            totalResults: 1,
            response: [{ ...advertiser('1'), currency: undefined }],
          },
        },
        'malformed_response',
        3,
      ],
      [
        'a list instead of an object',
        { body: [advertiser('1')] },
        'malformed_response',
        3,
      ],
      [
        '400 (a scope Amazon does not know)',
        {
          status: 400,
          body: { code: 'INVALID_ARGUMENT', details: 'Invalid scope' },
        },
        'request_rejected',
        1,
      ],
      ['500', { status: 500, body: {} }, 'server_error', 3],
    ])('maps %s', async (_, answer, kind, requests) => {
      amazon.answerTimes(requests, answer);

      const error = await failureOf(
        sut.listDspAdvertisers('na', ACCESS_TOKEN, PROFILE_ID),
      );

      expect(error.kind).toBe(kind);
      expect(amazon.requests).toHaveLength(requests);
    });

    it('says which call a 403 refused', async () => {
      amazon.answer({ status: 403, body: { code: 'FORBIDDEN' } });

      const error = await failureOf(
        sut.listDspAdvertisers('na', ACCESS_TOKEN, PROFILE_ID),
      );

      expect(error).toBeInstanceOf(LwaForbiddenError);
      expect(error.message).toContain('DSP advertisers');
      expect(amazon.requests).toHaveLength(1);
    });
  });

  it('never lets a token, code or the client secret reach a log or an error', async () => {
    // Each call's answer echoes everything that call sent, and every token shape.
    const tokenShapes = [REFRESH_TOKEN, NEW_REFRESH_TOKEN, ACCESS_TOKEN];
    const echo = (status: number, error: string, sent: string[]) => ({
      status,
      body: {
        error,
        error_description: `echo ${[...sent, ...tokenShapes].join(' ')}`,
        access_token: ACCESS_TOKEN,
      },
    });
    const sentByExchange = [CODE, CODE_VERIFIER, CLIENT_SECRET];
    amazon.answer(
      { body: { ...TOKENS, refresh_token: NEW_REFRESH_TOKEN } },
      echo(400, 'invalid_grant', sentByExchange),
      echo(401, 'invalid_client', [CLIENT_SECRET]),
      echo(400, 'invalid_request', sentByExchange),
      { status: 500, body: TOKENS },
      { body: { ...TOKENS, expires_in: -1 } },
      {
        status: 401,
        body: { code: 'UNAUTHORIZED', details: `bad token ${ACCESS_TOKEN}` },
      },
      {
        status: 400,
        body: { code: 'BAD', details: `echo ${tokenShapes.join(' ')}` },
      },
    );
    const seen: unknown[] = [];
    const options: LwaCallOptions = {
      maxRetries: 0,
      onAttempt: (attempt) => seen.push(attempt),
    };
    const exchange = () =>
      sut.exchangeCode(
        'na',
        { code: CODE, codeVerifier: CODE_VERIFIER },
        options,
      );

    await exchange();
    for (const call of [
      exchange,
      () => sut.refresh('na', REFRESH_TOKEN, options),
      exchange,
      exchange,
      exchange,
    ]) {
      seen.push(await failureOf(call()));
    }
    for (let i = 0; i < 2; i++)
      seen.push(await failureOf(sut.listProfiles('na', ACCESS_TOKEN, options)));

    const lines = logged.filter((line) => line.includes('Amazon '));
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(
      /Amazon token request \(na\) attempt 1: ok HTTP 200 in \d+ ms/,
    );
    const everything = [
      ...logged,
      ...seen.map((item) => inspect(item, { depth: 8 })),
      ...seen.map((item) => JSON.stringify(item)),
    ]
      .join('\n')
      .replace(/Atz[ar]\|\[Redacted\]/g, '');
    for (const secret of [...SECRETS, 'sec+ret', 'Atza|', 'Atzr|']) {
      expect(everything).not.toContain(secret);
    }
  });
});
