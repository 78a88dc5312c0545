import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { startLwaSandbox } from './lwa-sandbox';
import type { RunningSandbox, SandboxLogger } from './sandbox-options';
import { SandboxInputError } from './sandbox-input.error';
import { exchangeCode, obtainCode, refresh } from '../testing/sandbox-test-kit';

/** Sends raw bytes and collects whatever comes back until the server closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe(startLwaSandbox.name, () => {
  let sut: RunningSandbox;
  const logger: SandboxLogger = {
    info: jest.fn(),
    warn: jest.fn(),
    error: jest.fn(),
  };

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, logger });
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  it('listens on an ephemeral port and says where', () => {
    expect(sut.port).toBeGreaterThan(0);
    expect(sut.url).toBe(`http://127.0.0.1:${sut.port}`);
    expect(sut.clientId).toBe('amzn1.application-oa2-client.sandbox');
  });

  it('answers 404 JSON for anything else, and logs it', async () => {
    const response = await fetch(`${sut.url}/v2/campaigns?x=1`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'not_found',
      message: 'No route for GET /v2/campaigns',
    });
    expect(sut.requests()).toEqual([
      expect.objectContaining({
        endpoint: 'not_found',
        path: '/v2/campaigns',
        status: 404,
      }),
    ]);
  });

  it('keeps "//" paths as paths', async () => {
    const response = await rawExchange(
      sut.port,
      'GET //auth/o2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );

    expect(response).toMatch(/^HTTP\/1\.1 404/);
  });

  it('answers a malformed HTTP request with 400 and keeps serving', async () => {
    const response = await rawExchange(sut.port, 'THIS IS NOT HTTP\r\n\r\n');

    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect((await fetch(`${sut.url}/__sandbox/health`)).status).toBe(200);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('answers oversized headers with 431', async () => {
    const response = await rawExchange(
      sut.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );

    expect(response).toMatch(/^HTTP\/1\.1 431/);
  });

  it('stops reading a chunked body past 64 kB and answers 413', async () => {
    const chunk = 'a'.repeat(70_000);
    const head =
      'POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n';

    const response = await rawExchange(
      sut.port,
      `${head}${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );

    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(response).toContain('"error":"invalid_request"');
  });

  it('answers 413 on the control API too', async () => {
    const response = await fetch(`${sut.url}/__sandbox/faults`, {
      method: 'POST',
      body: 'x'.repeat(70_000),
    });

    expect(response.status).toBe(413);
  });

  it('survives a client that leaves halfway through its body', async () => {
    const socket = connect(sut.port, '127.0.0.1', () => {
      socket.write(
        'POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc',
      );
      socket.destroy();
    });
    await new Promise((resolve) => socket.on('close', resolve));

    expect((await fetch(`${sut.url}/__sandbox/health`)).status).toBe(200);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('refuses bad options', async () => {
    await expect(startLwaSandbox({ port: 70_000 })).rejects.toThrow(
      SandboxInputError,
    );
    await expect(startLwaSandbox({ clientSecret: '' })).rejects.toThrow(
      SandboxInputError,
    );
    await expect(
      startLwaSandbox({ redirectUris: ['/relative'] }),
    ).rejects.toThrow(SandboxInputError);
    await expect(
      startLwaSandbox({ accessTokenLifetimeSeconds: 0 }),
    ).rejects.toThrow(SandboxInputError);
    await expect(
      startLwaSandbox({ secretMarker: 'not|plain' }),
    ).rejects.toThrow(SandboxInputError);
  });

  it('puts the secretMarker into every code and token it issues, never into its request log', async () => {
    const marked = await startLwaSandbox({ secretMarker: 'CANARY42' });
    try {
      const { code, codeVerifier } = await obtainCode(marked);
      const exchanged = await (
        await exchangeCode(marked, code, codeVerifier)
      ).json();
      marked.updateSettings({ rotateRefreshTokens: true });
      const refreshed = await (
        await refresh(marked, exchanged.refresh_token)
      ).json();
      const issued = marked.issueTokens();

      expect(code).toMatch(/^ANCANARY42[A-Za-z0-9]{20}$/);
      for (const token of [
        exchanged.access_token,
        refreshed.access_token,
        issued.access_token,
      ])
        expect(token).toMatch(/^Atza\|IwEBCANARY42/);
      for (const token of [
        exchanged.refresh_token,
        refreshed.refresh_token,
        issued.refresh_token,
      ])
        expect(token).toMatch(/^Atzr\|IwEBCANARY42/);
      expect(JSON.stringify(marked.requests())).not.toContain('CANARY42');
    } finally {
      await marked.close();
    }
  });

  it('rejects when the port is taken', async () => {
    await expect(startLwaSandbox({ port: sut.port })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });

  it('close() ends keep-alive connections promptly and can be called twice', async () => {
    const other = await startLwaSandbox({ port: 0 });
    const agent = new Agent({ keepAlive: true });
    let answered!: () => void;
    const responseRead = new Promise<void>((resolve) => (answered = resolve));
    const socketClosed = new Promise<void>((resolve, reject) => {
      const request = httpRequest(
        `${other.url}/__sandbox/health`,
        { agent },
        (response) => response.on('end', () => answered()).resume(),
      );
      request.on('socket', (socket) => socket.once('close', () => resolve()));
      request.on('error', reject);
      request.end();
    });
    // The socket is idle in the agent's pool once the answer is read (a fixed sleep raced here).
    await responseRead;
    const startedAt = Date.now();

    await Promise.all([other.close(), other.close()]);
    await socketClosed;

    expect(Date.now() - startedAt).toBeLessThan(1000);
    await expect(fetch(`${other.url}/__sandbox/health`)).rejects.toHaveProperty(
      'name',
      'TypeError',
    );
  });
});
