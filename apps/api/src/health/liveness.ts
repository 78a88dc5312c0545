import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';

export const LIVENESS_PATH = '/health/live';

const LIVE_BODY = JSON.stringify({ status: 'ok' });

/**
 * `GET /health/live` ("the process answers") as a plain Fastify route, outside Nest.
 *
 * Probes call it every few seconds on every replica and it checks nothing, so Nest's per-request
 * pipeline (router context, guard, pipes, exception zone, promise chain) was most of its cost.
 * The Fastify hooks still run: correlation id, security headers, metrics; and like every route
 * it answers 503 once the server is closing (`return503OnClosing`).
 */
export function registerLiveness(fastify: FastifyInstance): void {
  fastify.get(LIVENESS_PATH, (_request, reply) => {
    void reply.type('application/json; charset=utf-8').send(LIVE_BODY);
  });
}

/** The route in the OpenAPI document, which only lists Nest's controllers by itself. */
export function documentLiveness(document: OpenAPIObject): OpenAPIObject {
  document.paths[LIVENESS_PATH] = {
    get: {
      operationId: 'HealthController_live',
      summary: 'Liveness: the process answers (for restart probes)',
      tags: ['operations'],
      responses: {
        '200': {
          description: 'The process answers',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { status: { type: 'string', enum: ['ok'] } },
                required: ['status'],
              },
            },
          },
        },
      },
    },
  };
  return document;
}
