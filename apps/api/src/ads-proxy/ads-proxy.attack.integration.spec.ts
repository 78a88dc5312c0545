import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { createHash } from 'node:crypto';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  request as httpRequest,
  Server,
  ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import {
  captureOutput,
  CapturedOutput,
} from '../../test/security/security-harness';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { realSleep } from '../amazon/retry-policy';
import { AdsProxyService } from './ads-proxy.service';

const SERVICE_KEY = 'attack-test-service-key-0123456789abcdef';
const TEN_MB = 10 * 1024 * 1024;

interface RawAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  authorizationPresent: boolean;
  cookiePresent: boolean;
  bodyBytes: number;
  bodySha256: string;
}

/** What the stand-in Amazon of the second app received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/**
 * The Ads API proxy attacked: paths, headers, bodies, credentials, answers and abuse, each as
 * a test that passes when the keeper holds (README: "Call the Ads API through the keeper").
 * Two apps share one database: `sut` sends to the LWA sandbox (its request log says what
 * reached "Amazon"); `hostile` sends to a hand-written server that answers what Amazon
 * never should (cookies, hop-by-hop headers, 1xx, endless bodies) and records every request.
 */
describe('the Ads API proxy under attack', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let hostile: NestFastifyApplication;
  let output: CapturedOutput;
  let cookie: string;
  let connectionId: string;
  let profileId: string;
  let apiPort: number;
  let hostilePort: number;
  let upstream: Server;
  let upstreamHandler: (req: IncomingMessage, res: ServerResponse) => void;
  let received: Received[];
  const fernetKey = Fernet.generateKey();

  beforeAll(async () => {
    // Before any app exists: pino writes through process.stdout only if it was replaced first.
    output = captureOutput();
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      FERNET_KEYS: fernetKey,
      SERVICE_API_KEYS: SERVICE_KEY,
      LOG_LEVEL: 'info',
    });
    await sut.listen(0, '127.0.0.1');
    apiPort = (sut.getHttpServer().address() as AddressInfo).port;
    cookie = await logIn(sut);
    connectionId = await connectAccount(sut, cookie, { account: 'Attack One' });
    const connection = (
      await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${connectionId}`,
        headers: { cookie },
      })
    ).json<{ profiles: { profileId: string }[] }>();
    profileId = connection.profiles[0].profileId;

    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks),
        });
        upstreamHandler(req, res);
      });
    });
    await new Promise<void>((resolve) =>
      upstream.listen(0, '127.0.0.1', resolve),
    );
    hostile = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      AMAZON_ADS_API_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      FERNET_KEYS: fernetKey,
      SERVICE_API_KEYS: SERVICE_KEY,
      LOG_LEVEL: 'info',
    });
    await hostile.listen(0, '127.0.0.1');
    hostilePort = (hostile.getHttpServer().address() as AddressInfo).port;
  });

  beforeEach(() => {
    for (const app of [sut, hostile])
      app.get(AdsProxyService).useClock(
        async () => undefined,
        () => 0.5,
      );
    sut.get(AdsProxyService).gate.clear();
    hostile.get(AdsProxyService).gate.clear();
    sandbox.clearFaults();
    sandbox.clearRequests();
    received = [];
    upstreamHandler = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });

  afterAll(async () => {
    output?.restore();
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
    await hostile?.close();
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const base = () => `/api/v1/connections/${connectionId}/ads`;
  const ads = () =>
    sandbox.requests().filter((entry) => entry.endpoint !== 'token');

  /** One request over a real socket, bytes exactly as written; the answer once it closes. */
  const rawExchange = (
    port: number,
    bytes: string | Buffer,
    options: { timeoutMs?: number } = {},
  ) =>
    new Promise<{ text: string; statusCode: number }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
      }, options.timeoutMs ?? 10_000);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('latin1');
        resolve({
          text,
          statusCode: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        });
      });
      socket.write(bytes);
    });
  const rawRequest = (
    requestLine: string,
    headers: string[],
    body = '',
    port = apiPort,
  ) =>
    rawExchange(
      port,
      `${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers
        .map((line) => `${line}\r\n`)
        .join('')}\r\n${body}`,
    );

  /** `node:http` over a real socket (`inject()` normalizes paths and headers). */
  const call = (
    path: string,
    options: {
      method?: string;
      headers?: Record<string, string | string[]>;
      body?: Buffer | string;
      port?: number;
      rawPath?: boolean;
    } = {},
  ) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port: options.port ?? apiPort,
          method: options.method ?? 'GET',
          path: options.rawPath ? path : `${base()}${path}`,
          // A socket per call: a refused request may leave its socket unusable.
          agent: false,
          headers: {
            authorization: `Bearer ${SERVICE_KEY}`,
            ...(options.body === undefined
              ? {}
              : { 'content-length': String(Buffer.byteLength(options.body)) }),
            ...options.headers,
          },
        },
        (response) => {
          let body = '';
          response.setEncoding('latin1');
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
      request.end(options.body);
    });
  const echoOf = (answer: RawAnswer) => {
    expect(answer.statusCode).toBe(200);
    return JSON.parse(answer.body) as Echo;
  };
  const scope = () => ({ 'amazon-advertising-api-scope': profileId });

  describe('paths', () => {
    it.each([
      '/v2/%2E%2e/profiles',
      '/v2/.%2E/profiles',
      '/v2/%2e./profiles',
      '/v2/%2E/profiles',
      '/v2/./profiles',
      '/v2/%252E%252E/profiles',
      '/v2/%25%32%65%25%32%65/profiles',
      '/v2/%0a/profiles',
      '/v2/%0d%0aHost:%20evil/profiles',
      '/v2/%09/profiles',
      '/v2/%00/profiles',
      '/v2/%7f/profiles',
      '/v2%5C..%5Cprofiles',
      '/v2/\\../profiles',
      '/v2//profiles',
      '//evil.example',
      '///evil.example/v2/profiles',
      '/http://evil.example/v2/profiles',
      '/v2/echo/a"b',
      '/v2/echo/a<b>',
      '/v2/echo/a|b',
      '/v2/echo/a{b}',
      '/v2/echo/a^b',
      '/v2/echo/a`b',
      `/v2/${'a'.repeat(2_048)}`,
      `/v2/echo?${'a'.repeat(8_193)}`,
      '/v2/echo?a=%zz',
      '/v2/echo?a=<script>',
    ])('refuses %p with 400 bad_path, sending nothing', async (path) => {
      const answer = await call(path);

      expect(answer.statusCode).toBe(400);
      expect(answer.headers['x-keeper-error']).toBe('bad_path');
      expect(ads()).toHaveLength(0);
    });

    it.each([
      // Overlong UTF-8 for "." and "/": decodeURIComponent throws on them.
      '/v2/%c0%ae%c0%ae/profiles',
      '/v2/%c0%af/profiles',
      '/v2/%e0%80%ae/profiles',
      '/v2/%ff/profiles',
      '/v2/%ed%a0%80/profiles',
      // Not percent-encodings at all.
      '/v2/%u002e%u002e/profiles',
      '/v2/%2/profiles',
    ])(
      'refuses the malformed encoding of %p with 400 in the error shape, sending nothing',
      async (path) => {
        const answer = await call(path);

        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body)).toMatchObject({
          statusCode: 400,
          correlationId: expect.any(String),
        });
        expect(ads()).toHaveLength(0);
      },
    );

    // README: "The keeper's own answers use its error shape and carry x-keeper-error". The
    // router refuses these before the proxy's scope sees them, without the header.
    it('marks its 400 for a malformed percent-encoding as its own (x-keeper-error)', async () => {
      const answer = await call('/v2/%c0%ae%c0%ae/profiles');
      expect(answer.statusCode).toBe(400);
      expect(answer.headers['x-keeper-error']).toBe('bad_path');
    });

    it.each([
      ['/v2/echo/..;/x', '/v2/echo/..;/x'],
      ['/v2/echo/.;x=1/y', '/v2/echo/.;x=1/y'],
      ['/v2/echo/%2e%2e%3b/x', '/v2/echo/%2e%2e%3b/x'],
      ['/v2/echo/%EF%BC%8E%EF%BC%8E/x', '/v2/echo/%EF%BC%8E%EF%BC%8E/x'],
      ['/v2/echo/%E2%80%A4%E2%80%A4/x', '/v2/echo/%E2%80%A4%E2%80%A4/x'],
      ['/v2/echo/@evil.example/x', '/v2/echo/@evil.example/x'],
      ['/v2/echo/user:pass@evil.example', '/v2/echo/user:pass@evil.example'],
      ['/v2/echo/evil.example:443', '/v2/echo/evil.example:443'],
      ['/v2/echo/a%3Fb=c', '/v2/echo/a%3Fb=c'],
      ['/v2/echo/a%23b', '/v2/echo/a%23b'],
      ['/v2/echo/https:evil.example', '/v2/echo/https:evil.example'],
      ['/v2/echo/', '/v2/echo/'],
      ['/v2/echo/a/', '/v2/echo/a/'],
      ['/v2/echo/%41', '/v2/echo/%41'],
    ])('sends %p to the region host as exactly %p', async (path, expected) => {
      const echo = echoOf(await call(path, { headers: scope() }));

      expect(echo.path).toBe(expected);
      expect(ads().map((entry) => entry.endpoint)).toEqual(['ads']);
    });

    it('passes the query raw, without decoding or re-encoding it', async () => {
      const echo = echoOf(
        await call('/v2/echo/q?a=%2F..%2F&b=?c/d&c=%0d%0a&d=@evil:1', {
          headers: scope(),
        }),
      );
      expect(echo.query).toBe('a=%2F..%2F&b=?c/d&c=%0d%0a&d=@evil:1');
      expect(echo.path).toBe('/v2/echo/q');
    });

    it.each([
      ['raw UTF-8 fullwidth dots', '/v2/echo/\u{ff0e}\u{ff0e}/x'],
      ['a raw tab', '/v2/echo/a\tb'],
      ['a raw backslash', '/v2/echo\\..\\x'],
      ['a fragment', '/v2/echo/a#/../../x'],
      ['a raw space', '/v2/echo/a b'],
    ])('never sends a request line with %s in it', async (_what, path) => {
      const answer = await rawExchange(
        apiPort,
        Buffer.from(
          `GET ${base()}${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${SERVICE_KEY}\r\nAmazon-Advertising-API-Scope: ${profileId}\r\nConnection: close\r\n\r\n`,
          'utf8',
        ),
      );

      expect(answer.statusCode).toBeGreaterThanOrEqual(400);
      expect(answer.statusCode).toBeLessThan(500);
      expect(ads()).toHaveLength(0);
    });

    it('never takes an absolute-form request line as a host to send to', async () => {
      const answer = await rawRequest(
        `GET http://evil.example${base()}/v2/echo/x HTTP/1.1`,
        [`Authorization: Bearer ${SERVICE_KEY}`],
      );
      // Whatever the keeper answers, only the region host may have been called, on its path.
      const calls = ads();
      expect(calls.every((entry) => entry.path === '/v2/echo/x')).toBe(true);
      expect(answer.statusCode).toBeGreaterThan(0);
    });

    it('refuses a path of 100 kB without crashing or sending anything', async () => {
      const answer = await call(`/v2/echo/${'a/'.repeat(50_000)}`);
      expect(answer.statusCode).toBeGreaterThanOrEqual(400);
      expect(answer.statusCode).toBeLessThan(500);
      expect(ads()).toHaveLength(0);
    });
  });

  describe('headers', () => {
    it('refuses two Scope headers, a list, a huge one, and answers 403 for leading zeros', async () => {
      for (const value of [
        [profileId, '1'],
        `${profileId},1`,
        `${profileId} 1`,
        '9'.repeat(10_000),
        '-1',
        '1e3',
        '+1',
      ]) {
        const answer = await call('/v2/echo/x', {
          headers: { 'amazon-advertising-api-scope': value },
        });
        expect(answer.statusCode).toBe(400);
        expect(answer.headers['x-keeper-error']).toBe('bad_scope');
        expect(answer.body.length).toBeLessThan(1_000);
      }
      const padded = await call('/v2/echo/x', {
        headers: { 'amazon-advertising-api-scope': `00${profileId}` },
      });
      expect(padded.statusCode).toBe(403);
      expect(padded.headers['x-keeper-error']).toBe('unknown_scope');
      expect(ads()).toHaveLength(0);
    });

    it("replaces the caller's client id and Authorization, whatever Connection says", async () => {
      const echo = echoOf(
        await call('/v2/echo/x', {
          headers: {
            ...scope(),
            'amazon-advertising-api-clientid':
              'amzn1.application-oa2-client.evil',
            connection:
              'authorization, amazon-advertising-api-clientid, keep-alive',
            'x-forwarded-host': 'evil.example',
            'x-forwarded-for': '1.2.3.4',
            forwarded: 'host=evil.example',
            'proxy-authorization': 'Basic ZXZpbDpldmls',
            te: 'trailers',
            'keep-alive': 'timeout=600',
          },
        }),
      );

      expect(echo.authorizationPresent).toBe(true);
      expect(echo.headers['amazon-advertising-api-clientid']).toBe(
        sandbox.clientId,
      );
      for (const name of [
        'x-forwarded-host',
        'x-forwarded-for',
        'forwarded',
        'te',
        'keep-alive',
      ])
        expect(echo.headers).not.toHaveProperty(name);
      expect(
        (echo as unknown as { proxyAuthorizationPresent: boolean })
          .proxyAuthorizationPresent,
      ).toBe(false);
      const [entry] = ads();
      expect(entry.outcome).toBe('ok');
    });

    it("sends Amazon's host, not the caller's Host", async () => {
      await call('/v2/echo/x', {
        port: hostilePort,
        headers: { ...scope(), host: 'evil.example' },
      });
      expect(received).toHaveLength(1);
      expect(received[0].headers.host).toBe(
        `127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      );
    });

    it('sends Amazon only the allowed headers, one value each, and never the service key', async () => {
      await call('/v2/echo/x', {
        port: hostilePort,
        method: 'POST',
        headers: {
          ...scope(),
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'amazon-advertising-api-clientid': 'evil',
          cookie: `key=${SERVICE_KEY}`,
          'x-api-key': SERVICE_KEY,
          expect: '100-continue',
          via: '1.1 evil',
          'x-amz-date': 'evil',
          origin: 'https://evil.example',
        },
        body: '{}',
      });
      expect(received).toHaveLength(1);
      const [got] = received;
      expect(Object.keys(got.headers).sort()).toEqual(
        [
          'accept-encoding',
          'amazon-advertising-api-clientid',
          'amazon-advertising-api-scope',
          'authorization',
          'content-encoding',
          'content-length',
          'content-type',
          'host',
          'user-agent',
          'connection',
        ]
          .filter((name) => name in got.headers)
          .sort(),
      );
      for (const name of [
        'cookie',
        'x-api-key',
        'expect',
        'via',
        'x-amz-date',
        'origin',
      ])
        expect(got.headers).not.toHaveProperty(name);
      expect(got.headers['amazon-advertising-api-clientid']).toBe(
        sandbox.clientId,
      );
      expect(JSON.stringify(got.rawHeaders)).not.toContain(SERVICE_KEY);
      expect(got.headers.authorization).toMatch(/^Bearer Atza\|/);
    });

    it('refuses Transfer-Encoding with Content-Length, obs-fold and bare LF, sending nothing', async () => {
      const auth = `Authorization: Bearer ${SERVICE_KEY}`;
      const line = `POST ${base()}/v2/echo/x HTTP/1.1`;
      const answers = [
        await rawRequest(
          line,
          [auth, 'Content-Length: 4', 'Transfer-Encoding: chunked'],
          '0\r\n\r\n',
        ),
        await rawRequest(
          line,
          [auth, 'Transfer-Encoding: chunked', 'Transfer-Encoding: identity'],
          '0\r\n\r\n',
        ),
        await rawRequest(line, [
          auth,
          `Amazon-Advertising-API-Scope: ${profileId}`,
          'Amazon-Ads-AccountId: a',
          ' Amazon-Advertising-API-ClientId: evil',
          'Content-Length: 0',
        ]),
        await rawExchange(
          apiPort,
          `GET ${base()}/v2/echo/x HTTP/1.1\nHost: x\n${auth}\nAmazon-Advertising-API-Scope: ${profileId}\nX-A: a\rAmazon-Advertising-API-ClientId: evil\nConnection: close\n\n`,
        ),
      ];
      expect(answers.map((answer) => answer.statusCode)).toEqual([
        400, 400, 400, 400,
      ]);
      expect(ads()).toHaveLength(0);
    });

    it('sends none of a hundred made-up headers on, and refuses thousands before the proxy', async () => {
      const headers: Record<string, string> = { ...scope() };
      for (let index = 0; index < 100; index += 1) headers[`x-h${index}`] = 'v';
      const echo = echoOf(await call('/v2/echo/x', { headers }));
      expect(
        Object.keys(echo.headers).some((name) => name.startsWith('x-h')),
      ).toBe(false);
      sandbox.clearRequests();

      for (let index = 100; index < 3_000; index += 1)
        headers[`x-h${index}`] = 'v';
      const many = await call('/v2/echo/x', { headers });
      expect(many.statusCode).toBeGreaterThanOrEqual(400);
      expect(many.statusCode).toBeLessThan(500);
      expect(ads()).toHaveLength(0);
    });
  });

  describe('bodies', () => {
    const sha = (bytes: Buffer) =>
      createHash('sha256').update(bytes).digest('hex');

    it('sends a body of exactly 10 MB byte for byte, with its length', async () => {
      const body = Buffer.alloc(TEN_MB, 0x61);
      const echo = echoOf(
        await call('/v2/echo/big', {
          method: 'PUT',
          headers: { ...scope(), 'content-type': 'application/json' },
          body,
        }),
      );
      expect(echo.bodyBytes).toBe(TEN_MB);
      expect(echo.bodySha256).toBe(sha(body));
      expect(echo.headers['content-length']).toBe(String(TEN_MB));
    });

    it('refuses a chunked body of 10 MB + 1 with 413, sending nothing', async () => {
      const answer = await new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: apiPort,
            method: 'POST',
            path: `${base()}/v2/echo/big`,
            headers: {
              authorization: `Bearer ${SERVICE_KEY}`,
              'transfer-encoding': 'chunked',
              'content-type': 'application/octet-stream',
              ...scope(),
            },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        for (let index = 0; index < 10; index += 1) request.write(chunk);
        request.end(Buffer.from('b'));
      });
      expect(answer).toBe(413);
      expect(ads()).toHaveLength(0);
    });

    it('sends a chunked body with a Content-Length and no Transfer-Encoding', async () => {
      const answer = await new Promise<RawAnswer>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: apiPort,
            method: 'POST',
            path: `${base()}/v2/echo/chunked`,
            headers: {
              authorization: `Bearer ${SERVICE_KEY}`,
              'transfer-encoding': 'chunked',
              ...scope(),
            },
          },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
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
        request.write('{"a":');
        request.end('1}');
      });
      const echo = echoOf(answer);
      expect(echo.bodyBytes).toBe(7);
      expect(echo.headers['content-length']).toBe('7');
      expect(echo.headers).not.toHaveProperty('transfer-encoding');
    });

    it('never sends a body with a GET or a HEAD', async () => {
      const echo = echoOf(
        await call('/v2/echo/get', {
          headers: { ...scope(), 'content-type': 'application/json' },
          body: '{"smuggled":true}',
        }),
      );
      expect(echo.bodyBytes).toBe(0);
      await call('/v2/echo/head', {
        method: 'HEAD',
        port: hostilePort,
        headers: { ...scope(), 'content-type': 'application/json' },
        body: '{"smuggled":true}',
      });
      expect(received.map((got) => got.body.length)).toEqual([0]);
    });

    it('passes a gzip body and its Content-Encoding unchanged, never inflating it', async () => {
      const { gzipSync } = await import('node:zlib');
      // A gzip bomb: 10 MB of zeros in ~10 kB.
      const body = gzipSync(Buffer.alloc(TEN_MB));
      await call('/v2/echo/gz', {
        port: hostilePort,
        method: 'POST',
        headers: {
          ...scope(),
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body,
      });
      expect(received).toHaveLength(1);
      expect(received[0].headers['content-encoding']).toBe('gzip');
      expect(received[0].body.equals(body)).toBe(true);
    });

    it('sends a JSON bomb as bytes: never parsed, never rejected for depth', async () => {
      const body = Buffer.from(
        `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`,
      );
      const echo = echoOf(
        await call('/v2/echo/bomb', {
          method: 'POST',
          headers: { ...scope(), 'content-type': 'application/json' },
          body,
        }),
      );
      expect(echo.bodySha256).toBe(sha(body));
      const proto = Buffer.from('{"__proto__":{"polluted":1}}');
      const protoEcho = echoOf(
        await call('/v2/echo/proto', {
          method: 'POST',
          headers: { ...scope(), 'content-type': 'application/json' },
          body: proto,
        }),
      );
      expect(protoEcho.bodySha256).toBe(sha(proto));
    });

    // Found by this suite: the key was checked in the handler, after Fastify had read the whole
    // body (up to 10 MB) for the route's parser; it is checked in an onRequest hook now.
    it('does not read a body before it knows the caller has a service key', async () => {
      // A caller without a key announces 10 MB and sends nothing: the keeper must not hold the
      // socket (and up to 10 MB of memory per socket) waiting for it.
      const answer = await rawExchange(
        apiPort,
        `POST ${base()}/v2/echo/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`,
        { timeoutMs: 3_000 },
      ).catch((error: Error) => ({ statusCode: 0, text: error.message }));
      expect(answer.statusCode).toBe(401);
    });

    // Found by this suite: Fastify's requestTimeout defaults to 0, which disables Node's 300 s;
    // createHttpApp sets 120 s.
    it('bounds how long one request may take to arrive (slow-loris)', () => {
      const server = sut.getHttpServer();
      expect(server.headersTimeout).toBeGreaterThan(0);
      // 0 disables Node's own 300 s default: a body sent a byte a minute holds its socket forever.
      expect(server.requestTimeout).toBeGreaterThan(0);
    });
  });

  describe('credentials', () => {
    it.each<[string, Record<string, string | string[]>, string]>([
      ['the key in the query', {}, `?access_token=${SERVICE_KEY}`],
      ['the key as api_key', {}, `?api_key=${SERVICE_KEY}`],
      [
        'the key in a cookie',
        { cookie: `authorization=Bearer ${SERVICE_KEY}` },
        '',
      ],
      ['the key in X-Api-Key', { 'x-api-key': SERVICE_KEY }, ''],
      [
        'Basic',
        {
          authorization: `Basic ${Buffer.from(`x:${SERVICE_KEY}`).toString('base64')}`,
        },
        '',
      ],
      ['the key without a scheme', { authorization: SERVICE_KEY }, ''],
      ['lower-case bearer', { authorization: `bearer ${SERVICE_KEY}` }, ''],
      ['two spaces', { authorization: `Bearer  ${SERVICE_KEY}` }, ''],
      ['a key with a suffix', { authorization: `Bearer ${SERVICE_KEY}x` }, ''],
      [
        'a key prefix',
        { authorization: `Bearer ${SERVICE_KEY.slice(0, -1)}` },
        '',
      ],
      [
        'two keys',
        { authorization: `Bearer ${SERVICE_KEY}, Bearer ${SERVICE_KEY}` },
        '',
      ],
    ])(
      'refuses %s with 401, sending nothing',
      async (_what, headers, query) => {
        const answer = await new Promise<RawAnswer>((resolve, reject) => {
          const request = httpRequest(
            {
              host: '127.0.0.1',
              port: apiPort,
              path: `${base()}/v2/echo/x${query}`,
              headers: { ...scope(), ...headers },
            },
            (response) => {
              let body = '';
              response.on(
                'data',
                (chunk: Buffer) => (body += chunk.toString()),
              );
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
        expect(answer.statusCode).toBe(401);
        expect(answer.headers['x-keeper-error']).toBe('service_key_required');
        expect(JSON.stringify(answer)).not.toContain(SERVICE_KEY);
        expect(ads()).toHaveLength(0);
      },
    );

    it('takes the first of two Authorization headers, never a later one', async () => {
      const wrongFirst = await rawRequest(`GET ${base()}/v2/echo/x HTTP/1.1`, [
        'Authorization: Bearer wrong-key-000000000000',
        `Authorization: Bearer ${SERVICE_KEY}`,
        `Amazon-Advertising-API-Scope: ${profileId}`,
      ]);
      expect(wrongFirst.statusCode).toBe(401);
      expect(ads()).toHaveLength(0);
    });

    it("never answers the service key or the connection's token, in a body, a header or a log line", async () => {
      const [row] = await database.query<{ id: string }>(
        'SELECT id FROM connections WHERE id = $1',
        [connectionId],
      );
      expect(row).toBeDefined();
      const accessToken = (
        await sut.inject({
          method: 'GET',
          url: `/api/v1/connections/${connectionId}/access-token`,
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        })
      ).json<{ accessToken: string }>().accessToken;
      output.newLines();

      upstreamHandler = (req, res) => {
        // A hostile "Amazon" that reflects what it got: the keeper cannot stop this, but it
        // must not add the token to headers of its own or to its logs.
        res
          .writeHead(500, {
            'content-type': 'application/json',
            'www-authenticate': 'Bearer error="invalid_token"',
          })
          .end(JSON.stringify({ code: 'x', details: 'nope' }));
        void req;
      };
      sandbox.queueFault({ endpoint: 'ads', kind: 'unauthorized', count: 2 });
      const answers = [
        await call('/v2/echo/x', { headers: scope() }),
        await call('/v2/echo/x', { port: hostilePort, headers: scope() }),
        await call(`/v2/echo/x?token=${SERVICE_KEY}`, {
          headers: { 'amazon-advertising-api-scope': 'abc' },
        }),
        await call('/v2/%2e%2e/x', { headers: scope() }),
        await call('/v2/echo/x', {
          headers: { 'amazon-advertising-api-scope': '1' },
        }),
      ];
      for (const answer of answers) {
        const text = `${JSON.stringify(answer.headers)}\n${answer.body}`;
        expect(text).not.toContain(SERVICE_KEY);
        expect(text).not.toContain(accessToken);
        for (const [name, value] of Object.entries(answer.headers))
          if (name.startsWith('x-keeper'))
            expect(String(value)).toMatch(/^[a-z0-9_]{1,40}$/);
      }
      const logs = output.newLines().join('\n');
      expect(logs).toContain('/v2/echo/x');
      expect(logs).not.toContain(SERVICE_KEY);
      expect(logs).not.toContain(accessToken);
      expect(logs).not.toContain(accessToken.slice(5, 40));
    });

    // `req.url` masks a secret-like segment (log-redaction.ts) but the proxy's `ads.path`
    // field repeats the raw path: a key pasted into the path reaches the log line.
    it.each([
      ['the service key', SERVICE_KEY],
      ['a hex secret', 'f3a9c1e07b2d4a6e8c0f1b3d5a7e9c2b4d6f8a0c'],
    ])(
      'keeps %s pasted into the path out of the log line (ads.path too)',
      async (_what, secret) => {
        output.newLines();
        const answer = await call(`/v2/echo/${secret}`, { headers: scope() });
        expect(answer.statusCode).toBe(200);
        const logs = output.newLines().join('\n');
        expect(logs).toContain('/v2/echo/');
        expect(logs).not.toContain(secret);
      },
    );
  });

  describe("Amazon's answers", () => {
    it('drops Set-Cookie and hop-by-hop headers, and keeps Amazon from posing as the keeper', async () => {
      upstreamHandler = (_req, res) => {
        res.setHeader('set-cookie', ['session=evil; Path=/', 'b=2']);
        res.setHeader('connection', 'keep-alive, x-hop');
        res.setHeader('x-hop', 'secret');
        res.setHeader('keep-alive', 'timeout=5');
        res.setHeader('proxy-authenticate', 'Basic');
        res.setHeader('upgrade', 'h2c');
        res.setHeader('trailer', 'x-t');
        res.setHeader('x-amzn-requestid', 'r-1');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      };
      const answer = await call('/v2/echo/x', {
        port: hostilePort,
        headers: scope(),
      });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['x-amzn-requestid']).toBe('r-1');
      for (const name of [
        'set-cookie',
        'x-hop',
        'proxy-authenticate',
        'upgrade',
        'trailer',
      ])
        expect(answer.headers).not.toHaveProperty(name);
      // The keeper's own keep-alive with its caller, not Amazon's.
      expect(answer.headers['keep-alive']).not.toBe('timeout=5');
    });

    // README: "The keeper's own answers … carry x-keeper-error …; Amazon's never do."
    it("never passes an x-keeper-* header of Amazon's on (a caller would take it for the keeper's)", async () => {
      upstreamHandler = (_req, res) =>
        res
          .writeHead(429, {
            'x-keeper-error': 'throttled',
            'x-keeper-attempts': '99',
            'retry-after': '999',
          })
          .end('{}');
      const answer = await call('/v2/echo/x', {
        port: hostilePort,
        headers: scope(),
      });
      expect(answer.headers['x-keeper-error']).toBeUndefined();
      expect(answer.headers['x-keeper-attempts']).toBe('1');
    });

    it('passes a redirect to another host back unfollowed', async () => {
      upstreamHandler = (_req, res) =>
        res
          .writeHead(302, {
            location: 'http://169.254.169.254/latest/meta-data',
          })
          .end();
      const answer = await call('/v2/echo/x', {
        port: hostilePort,
        headers: scope(),
      });
      expect(answer.statusCode).toBe(302);
      expect(answer.headers.location).toBe(
        'http://169.254.169.254/latest/meta-data',
      );
      expect(received).toHaveLength(1);
    });

    it('passes the final answer after a 1xx (103 Early Hints)', async () => {
      upstreamHandler = (_req, res) => {
        res.writeEarlyHints({ link: '</x>; rel=preload' });
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"a":1}');
      };
      const answer = await call('/v2/echo/x', {
        port: hostilePort,
        headers: scope(),
      });
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toBe('{"a":1}');
    });

    it('answers a HEAD with no body even when Amazon sends one', async () => {
      upstreamHandler = (req, res) => {
        // Write the body bytes straight onto the socket, as a broken server would.
        res.socket?.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello',
        );
        res.socket?.end();
        void req;
      };
      const answer = await rawRequest(
        `HEAD ${base()}/v2/echo/x HTTP/1.1`,
        [
          `Authorization: Bearer ${SERVICE_KEY}`,
          `Amazon-Advertising-API-Scope: ${profileId}`,
        ],
        '',
        hostilePort,
      );
      expect(answer.statusCode).toBe(200);
      expect(answer.text.endsWith('\r\n\r\n')).toBe(true);
    });

    it('streams a slow answer, and stops reading it when the caller goes away', async () => {
      let upstreamClosed!: () => void;
      const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
      upstreamHandler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(64 * 1024, 0x61));
        // Never ends on its own: only the keeper's abort ends it.
        res.on('close', () => upstreamClosed());
      };
      await new Promise<void>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: hostilePort,
            path: `${base()}/v2/echo/stream`,
            headers: { authorization: `Bearer ${SERVICE_KEY}`, ...scope() },
          },
          (response) => {
            expect(response.statusCode).toBe(200);
            response.once('data', () => {
              // The first bytes arrived before Amazon finished: streamed.
              request.destroy();
              resolve();
            });
          },
        );
        request.on('error', () => undefined);
        request.on('response', () => undefined);
        request.end();
        const timer = setTimeout(
          () => reject(new Error('no bytes streamed')),
          10_000,
        );
        request.on('close', () => clearTimeout(timer));
      });
      await closed;
      expect(received).toHaveLength(1);
    });

    it.each([
      ['with a Content-Length', { 'content-length': '100000' }],
      ['chunked', {}],
    ])(
      'never ends cleanly an answer whose upstream died mid-body (%s)',
      async (_what, headers) => {
        upstreamHandler = (_req, res) => {
          res.writeHead(200, {
            'content-type': 'application/json',
            ...headers,
          });
          res.write('[{"row":1},', () => res.socket?.destroy());
        };
        const outcome = await new Promise<string>((resolve) => {
          const request = httpRequest(
            {
              host: '127.0.0.1',
              port: hostilePort,
              agent: false,
              path: `${base()}/v2/echo/cut`,
              headers: { authorization: `Bearer ${SERVICE_KEY}`, ...scope() },
            },
            (response) => {
              response.on('data', () => undefined);
              // A clean end would hand the job half a report as if it were all of it.
              response.on('end', () =>
                resolve(response.complete ? 'complete' : 'incomplete'),
              );
              response.on('aborted', () => resolve('aborted'));
              response.on('error', () => resolve('error'));
            },
          );
          request.on('error', () => resolve('error'));
          request.end();
        });
        expect(outcome).not.toBe('complete');
      },
    );

    it('sends nothing for a caller that gives up while its profile is held', async () => {
      const service = hostile.get(AdsProxyService);
      const waits: number[] = [];
      service.useClock(
        async (ms, signal) => {
          waits.push(ms);
          await realSleep(ms, signal);
        },
        () => 0.5,
      );
      let first = true;
      upstreamHandler = (_req, res) => {
        if (first) {
          first = false;
          res.writeHead(429, { 'retry-after': '1' }).end('{}');
        } else res.writeHead(200).end('{}');
      };
      const throttled = call('/v2/echo/held', {
        port: hostilePort,
        headers: scope(),
      });
      while (waits.length < 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      const quitter = httpRequest({
        host: '127.0.0.1',
        port: hostilePort,
        agent: false,
        path: `${base()}/v2/echo/quitter`,
        headers: { authorization: `Bearer ${SERVICE_KEY}`, ...scope() },
      });
      quitter.on('error', () => undefined);
      quitter.end();
      while (waits.length < 2)
        await new Promise((resolve) => setTimeout(resolve, 10));
      quitter.destroy();

      expect((await throttled).statusCode).toBe(200);
      expect(received.map((got) => got.url)).toEqual([
        '/v2/echo/held',
        '/v2/echo/held',
      ]);
    });

    it('stops a call the caller aborts before Amazon answers, and never retries it', async () => {
      let upstreamClosed!: () => void;
      const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      upstreamHandler = (req, res) => {
        res.on('close', () => upstreamClosed());
        arrived();
        void req;
      };
      const request = httpRequest({
        host: '127.0.0.1',
        port: hostilePort,
        path: `${base()}/v2/echo/slow`,
        headers: { authorization: `Bearer ${SERVICE_KEY}`, ...scope() },
      });
      request.on('error', () => undefined);
      request.end();
      await arrival;
      request.destroy();
      await closed;
      // A retry would be a second request; give the event loop a turn to make one.
      await new Promise((resolve) => setImmediate(resolve));
      expect(received).toHaveLength(1);
    });
  });

  /** Log lines written since `mark`, once one matches `until` (or after 3 s). */
  const linesUntil = async (until: RegExp) => {
    const lines: string[] = [];
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      lines.push(...output.newLines());
      if (lines.some((line) => until.test(line))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return lines;
  };

  // The abort surfaces as an UpstreamError (or the sleep's AbortError) that the route's error
  // handler takes for an internal failure: a 500 in the metrics and an error line per caller
  // that gives up, which is what a job's timeout does to every slow call.
  it('logs a caller that goes away mid-call as such, not as the proxy failing', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    upstreamHandler = () => arrived();
    output.newLines();
    const request = httpRequest({
      host: '127.0.0.1',
      port: hostilePort,
      agent: false,
      path: `${base()}/v2/echo/gone`,
      headers: { authorization: `Bearer ${SERVICE_KEY}`, ...scope() },
    });
    request.on('error', () => undefined);
    request.end();
    await arrival;
    request.destroy();
    const lines = await linesUntil(/v2\/echo\/gone|Ads API proxy failed/);
    expect(lines.join('\n')).toMatch(/v2\/echo\/gone|Ads API proxy failed/);
    expect(lines.filter((line) => line.includes('"level":50'))).toEqual([]);
  });

  it.each(['OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND'])(
    'never sends a %s to Amazon',
    async (method) => {
      const answer = await rawRequest(
        `${method} ${base()}/v2/echo/x HTTP/1.1`,
        [
          `Authorization: Bearer ${SERVICE_KEY}`,
          `Amazon-Advertising-API-Scope: ${profileId}`,
        ],
      );
      // CONNECT: Node closes the socket (no 'connect' listener); the rest get a 4xx.
      expect(answer.statusCode === 0 || answer.statusCode >= 400).toBe(true);
      expect(ads()).toHaveLength(0);
    },
  );

  // README: "Every answer says how many calls it took in x-keeper-attempts". The keeper's own
  // answers (error handler) never carry it, even after three calls reached Amazon.
  it('says how many calls a 502 after three resets took (x-keeper-attempts)', async () => {
    sandbox.queueFault({ endpoint: 'ads', kind: 'reset', count: 3 });
    const answer = await call('/v2/echo/x', { headers: scope() });
    expect(answer.statusCode).toBe(502);
    expect(answer.headers['x-keeper-error']).toBe('amazon_unreachable');
    expect(answer.headers['x-keeper-attempts']).toBe('3');
  });

  describe('abuse', () => {
    it('reads the profiles once for 20 concurrent calls with an unknown scope', async () => {
      await database.query(
        "UPDATE connections SET profiles_read_at = now() - interval '2 minutes' WHERE id = $1",
        [connectionId],
      );
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('/v2/echo/x', {
            headers: { 'amazon-advertising-api-scope': '999999999' },
          }),
        ),
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual(
        Array(20).fill(403),
      );
      expect(
        sandbox.requests().filter((entry) => entry.endpoint === 'profiles'),
      ).toHaveLength(1);
      expect(ads().filter((entry) => entry.endpoint === 'ads')).toHaveLength(0);
    });

    // Amazon answers 401 for a scope the grant lost since the profiles were read (README: "a
    // 401 about a scope is not a revoked grant"). Each call then forces a refresh of a token
    // that works, so a job looping over that profile refreshes the token once per call.
    it('refreshes at most once for ten calls Amazon refuses with 401 for their scope', async () => {
      upstreamHandler = (_req, res) =>
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(
            '{"code":"UNAUTHORIZED","details":"Not authorized to access scope"}',
          );
      const refreshes = () =>
        sandbox
          .requests({ endpoint: 'token' })
          .filter((entry) => entry.grantType === 'refresh_token');
      for (let index = 0; index < 10; index += 1) {
        const answer = await call('/v2/echo/x', {
          port: hostilePort,
          headers: scope(),
        });
        expect(answer.statusCode).toBe(401);
      }
      expect(received).toHaveLength(20);
      expect(refreshes().length).toBeLessThanOrEqual(1);
    });

    it('makes concurrent calls for a throttled profile wait, sending none before the hold ends', async () => {
      const service = sut.get(AdsProxyService);
      const sentDuringWaits: number[] = [];
      const echoCalls = () =>
        sandbox.requests().filter((entry) => entry.endpoint === 'ads');
      service.useClock(
        async (ms, signal) => {
          sentDuringWaits.push(echoCalls().length);
          await realSleep(ms, signal);
        },
        () => 0.5,
      );
      sandbox.queueFault({ endpoint: 'ads', kind: '429', retryAfter: 1 });
      const first = call('/v2/echo/first', { headers: scope() });
      // The 429 is in once the profile is held.
      while (service.gate.heldCount === 0)
        await new Promise((resolve) => setTimeout(resolve, 10));
      const rest = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('/v2/echo/rest', { headers: scope() }),
        ),
      );
      const answers = [await first, ...rest];

      expect(answers.map((answer) => answer.statusCode)).toEqual(
        Array(21).fill(200),
      );
      // Every wait began with only the throttled call sent.
      expect(sentDuringWaits).toHaveLength(21);
      expect(sentDuringWaits.every((count) => count === 1)).toBe(true);
      expect(echoCalls()).toHaveLength(22);
    });
  });
});
