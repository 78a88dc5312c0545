import Fastify from 'fastify';
import { storage } from 'nestjs-pino/storage';
import pino from 'pino';
import { Writable } from 'node:stream';
import { logRequests } from './logger-options';

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line)),
      );
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('logRequests', () => {
  it('logs one line per request and gives every line logged inside it the correlation id', async () => {
    const { logger, lines } = capturedLogger();
    const fastify = Fastify({ genReqId: () => 'corr-inside' });
    logRequests(fastify, logger);
    fastify.get('/api/v1/thing', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      storage.getStore()?.logger.info('working on it');
      return { ok: true };
    });

    await fastify.inject({
      method: 'GET',
      url: '/api/v1/thing?code=secret-code&page=2',
    });
    await fastify.close();

    expect(lines.find((line) => line.msg === 'working on it')).toMatchObject({
      correlationId: 'corr-inside',
    });
    const requestLine = lines.find((line) => line.req);
    expect(requestLine).toMatchObject({
      level: 30,
      correlationId: 'corr-inside',
      req: { id: 'corr-inside', method: 'GET' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    expect(JSON.stringify(lines)).not.toContain('secret-code');
    expect(JSON.stringify(lines)).toContain('page=2');
  });

  it('logs client errors as warnings and server errors as errors', async () => {
    const { logger, lines } = capturedLogger();
    const fastify = Fastify();
    logRequests(fastify, logger);
    fastify.get('/broken', async () => {
      throw new Error('boom');
    });

    await fastify.inject({ method: 'GET', url: '/missing' });
    await fastify.inject({ method: 'GET', url: '/broken' });
    await fastify.close();

    const levels = lines
      .filter((line) => line.req)
      .map((line) => [line.msg, line.level]);
    expect(levels).toEqual([
      ['GET /missing 404', 40],
      ['GET /broken 500', 50],
    ]);
  });

  it('writes nothing for probes and scrapes and binds no request logger to them', async () => {
    const { logger, lines } = capturedLogger();
    const fastify = Fastify();
    logRequests(fastify, logger);
    fastify.get('/health/live', async () => {
      expect(storage.getStore()).toBeUndefined();
      return { status: 'ok' };
    });
    fastify.get('/metrics', async () => 'text');

    await fastify.inject({ method: 'GET', url: '/health/live' });
    await fastify.inject({ method: 'GET', url: '/metrics?x=1' });
    await fastify.close();

    expect(lines).toEqual([]);
  });

  it('writes no secret from the query string or the path into the warn-level request line', async () => {
    const { logger, lines } = capturedLogger();
    const fastify = Fastify();
    logRequests(fastify, logger);
    fastify.get(
      '/api/v1/connections/:id/access-token',
      async (_request, reply) => reply.code(401).send({ statusCode: 401 }),
    );
    const secrets = [
      'svc-key-canary-0123456789abcdef',
      'authcode-canary',
      'auth-canary',
      'LinkCanary0123456789abcdefXYZ',
    ];

    await fastify.inject({
      method: 'GET',
      url: `/api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12/access-token?key=${secrets[0]}&authCode=${secrets[1]}&auth=${secrets[2]}&region=eu`,
    });
    await fastify.inject({
      method: 'GET',
      url: `/api/v1/connect/${secrets[3]}`,
    });
    await fastify.close();

    const requestLines = lines.filter((line) => line.req);
    expect(requestLines.map((line) => line.level)).toEqual([40, 40]);
    expect(requestLines[0].msg).toBe(
      'GET /api/v1/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12/access-token?key=[Redacted]&authCode=[Redacted]&auth=[Redacted]&region=eu 401',
    );
    expect(requestLines[1].msg).toBe('GET /api/v1/connect/[Redacted] 404');
    for (const secret of secrets)
      expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
