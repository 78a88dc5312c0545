import Fastify, { FastifyInstance } from 'fastify';
import { HttpMetrics, instrumentHttp, UNMATCHED_ROUTE } from './http.metrics';
import { MetricsRegistry } from './metrics.registry';

describe(HttpMetrics.name, () => {
  let metrics: MetricsRegistry;
  let sut: HttpMetrics;
  let fastify: FastifyInstance;

  const requestsOf = async (registry: MetricsRegistry) => {
    const metric = registry.registry.getSingleMetric('atk_http_requests_total');
    if (!metric) throw new Error('atk_http_requests_total is not registered');
    return (await metric.get()).values;
  };
  const requestCount = async (labels: Record<string, string>) => {
    const values = await requestsOf(metrics);
    return values
      .filter((value) =>
        Object.entries(labels).every(
          ([key, label]) => value.labels[key] === label,
        ),
      )
      .reduce((sum, value) => sum + value.value, 0);
  };

  beforeEach(async () => {
    metrics = new MetricsRegistry();
    sut = new HttpMetrics(metrics);
    fastify = Fastify();
    instrumentHttp(fastify, sut);
    fastify.get('/api/v1/connections/:id', async (request) => ({
      id: (request.params as { id: string }).id,
    }));
    fastify.post('/api/v1/connections/:id/refresh', async (_, reply) =>
      reply.code(409).send({ message: 'busy' }),
    );
    await fastify.ready();
  });

  afterEach(async () => {
    await fastify.close();
    metrics.onApplicationShutdown();
  });

  it('labels a request with its route pattern, method and status, never its URL', async () => {
    await fastify.inject({
      method: 'GET',
      url: '/api/v1/connections/conn-123?code=SECRET-CODE',
    });
    await fastify.inject({
      method: 'GET',
      url: '/api/v1/connections/conn-456',
    });
    await fastify.inject({
      method: 'POST',
      url: '/api/v1/connections/conn-123/refresh',
    });

    expect(
      await requestCount({
        method: 'GET',
        route: '/api/v1/connections/:id',
        status: '200',
      }),
    ).toBe(2);
    expect(
      await requestCount({
        method: 'POST',
        route: '/api/v1/connections/:id/refresh',
        status: '409',
      }),
    ).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('SECRET-CODE');
    expect(text).not.toContain('conn-123');
    expect(text).toMatch(
      /atk_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/connections\/:id"\} 2/,
    );
  });

  it(`labels requests that match no route "${UNMATCHED_ROUTE}"`, async () => {
    await fastify.inject({ method: 'GET', url: '/api/v1/x?code=SECRET-CODE' });
    await fastify.inject({ method: 'GET', url: '/wp-login.php' });

    expect(await requestCount({ route: UNMATCHED_ROUTE, status: '404' })).toBe(
      2,
    );
    expect(await metrics.registry.metrics()).not.toContain('SECRET-CODE');
  });

  it('counts each request once however often the instance is instrumented', async () => {
    const again = Fastify();
    instrumentHttp(again, sut);
    instrumentHttp(again, sut);
    again.get('/once', async () => 'ok');
    await again.inject({ method: 'GET', url: '/once' });
    await again.close();

    expect(await requestCount({ route: '/once' })).toBe(1);
  });

  it('keeps each registry to its own app', async () => {
    const otherMetrics = new MetricsRegistry();
    const other = new HttpMetrics(otherMetrics);
    await fastify.inject({ method: 'GET', url: '/api/v1/connections/conn-1' });

    expect(await requestsOf(otherMetrics)).toEqual([]);
    expect(other).toBeInstanceOf(HttpMetrics);
    otherMetrics.onApplicationShutdown();
  });
});
