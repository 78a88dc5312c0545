import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { METRIC_PREFIX, MetricsRegistry } from './metrics.registry';

/** The `route` label of a request that matched no route (404s, scanners). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; API answers are fast, a few (the OAuth callback) wait on Amazon. */
const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type RequestsChild = ReturnType<
  Counter<'method' | 'route' | 'status'>['labels']
>;
type DurationChild = ReturnType<Histogram<'method' | 'route'>['labels']>;

/**
 * `atk_http_requests_total{method,route,status}` and `atk_http_request_duration_seconds{method,route}`.
 * `route` is the route pattern (`/api/v1/connections/:id`), never the URL, which may carry an
 * OAuth code or an id per request. Label children are cached, so a request costs three map
 * lookups once its method, route and status have been seen.
 */
@Injectable()
export class HttpMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;
  private readonly requestChildren = new Map<
    string,
    Map<string, Map<number, RequestsChild>>
  >();
  private readonly durationChildren = new Map<
    string,
    Map<string, DurationChild>
  >();

  constructor(metrics: MetricsRegistry) {
    this.requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [metrics.registry],
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from request arrival to response sent, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: HTTP_DURATION_BUCKETS,
      registers: [metrics.registry],
    });
  }

  /** `route`: the pattern, or {@link UNMATCHED_ROUTE}. */
  observe(
    method: string,
    route: string,
    status: number,
    durationSeconds: number,
  ): void {
    let byRoute = this.requestChildren.get(method);
    if (!byRoute) {
      byRoute = new Map();
      this.requestChildren.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    let requests = byStatus.get(status);
    if (!requests) {
      requests = this.requests.labels(method, route, String(status));
      byStatus.set(status, requests);
    }
    requests.inc();

    let durations = this.durationChildren.get(method);
    if (!durations) {
      durations = new Map();
      this.durationChildren.set(method, durations);
    }
    let duration = durations.get(route);
    if (!duration) {
      duration = this.duration.labels(method, route);
      durations.set(route, duration);
    }
    if (Number.isFinite(durationSeconds) && durationSeconds >= 0)
      duration.observe(durationSeconds);
  }
}

const instrumented = new WeakSet<FastifyInstance>();

/**
 * Records every answered request of `fastify` into `metrics` (an `onResponse` hook). Call it on
 * the root instance before plugins are registered, so their routes are counted too; calling it
 * again for the same instance does nothing. `MetricsModule` calls it by itself.
 */
export function instrumentHttp(
  fastify: FastifyInstance,
  metrics: HttpMetrics,
): void {
  if (instrumented.has(fastify)) return;
  instrumented.add(fastify);
  fastify.addHook(
    'onResponse',
    (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      // `routeOptions.url` is undefined when no route matched (the not-found handler answered).
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      metrics.observe(
        request.method,
        route,
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    },
  );
}
