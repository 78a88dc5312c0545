import { Logger } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { INestApplicationContext } from '@nestjs/common';
import type { ApiErrorDto } from '@keeper/contracts';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ServiceKeyRequiredError } from '../auth/auth.errors';
import { mayReadConnection, ServiceKeyCaller } from '../auth/service-key-index';
import { ServiceKeyVerifier } from '../auth/service-key.verifier';
import { API_PREFIX } from '../common/api-prefix';
import { DomainError } from '../common/domain-errors';
import { AdsProxyMetrics } from '../metrics/ads-proxy.metrics';
import { AdsPathError, adsTargetOf, loggedPath } from './ads-path';
import { downstreamResponseHeaders } from './ads-headers';
import {
  AdsProxyError,
  KEEPER_ERROR_HEADER,
  unknownAdsConnection,
} from './ads-proxy.errors';
import { AdsProxyService } from './ads-proxy.service';
import { discard } from './ads-upstream';

/**
 * Request bodies are held in memory while a retry may need them: Ads API requests (report
 * definitions, bulk edits) are small; 10 MB is far above them and below harm.
 */
export const PROXY_BODY_LIMIT = 10 * 1024 * 1024;
/** The methods the Ads API uses (HEAD follows GET). */
const PROXY_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
] as const;
const PROXY_ROUTE = `/${API_PREFIX}/connections/:id/ads/*`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Statuses whose answers have no body (and HEAD): Amazon's is drained, nothing streamed. */
const BODYLESS = new Set([204, 304]);

/** What the request log line of a proxied call carries beside the usual fields. */
export interface AdsCallLog {
  connectionId: string;
  path: string;
  origin: 'amazon' | 'keeper';
  attempts?: number;
  amazonMs?: number;
  keeperMs?: number;
}

/**
 * `ANY /api/v1/connections/:id/ads/<path>` as a Fastify route of its own (not a Nest
 * controller): it takes any body as raw bytes, whatever its type (Amazon's
 * `application/vnd.*+json` included), and answers with Amazon's body as a stream. It sits in
 * its own plugin scope, so its content-type parser and error handler apply to it alone.
 */
export async function registerAdsProxy(
  fastify: FastifyInstance,
  app: INestApplicationContext,
): Promise<void> {
  const proxy = app.get(AdsProxyService);
  const keys = app.get(ServiceKeyVerifier);
  const metrics = app.get(AdsProxyMetrics);
  const logger = new Logger('AdsProxy');

  await fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: PROXY_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    // Before the body is read: a caller without a key never makes the keeper hold 10 MB.
    // Synchronous: the key is looked up in this replica's in-memory index, no query.
    scope.addHook('onRequest', (request, _reply, done) => {
      const caller = keys.callerFor(request.headers.authorization);
      if (caller) (request as AdsRequest).serviceKey = caller;
      done(caller ? undefined : new ServiceKeyRequiredError());
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const answer = keeperError(error, request.id, logger);
      const log = (request as AdsRequest).adsCall;
      if (log) log.origin = 'keeper';
      // Refused before the handler (no key, a body too large): the body may still be on its
      // way, so the socket is closed after the answer instead of waiting for it.
      if (!log) void reply.header('connection', 'close');
      if (answer.code === 'client_gone')
        logger.warn(
          { correlationId: request.id, ads: log },
          'Ads API call ended: the caller went away before the answer',
        );
      metrics.recordCall({
        region: 'none',
        method: request.method,
        status: answer.body.statusCode,
        origin: 'keeper',
      });
      if (answer.retryAfterSeconds !== undefined)
        void reply.header('retry-after', String(answer.retryAfterSeconds));
      if (answer.body.statusCode === 401)
        void reply.header('www-authenticate', 'Bearer');
      return reply
        .code(answer.body.statusCode)
        .header(KEEPER_ERROR_HEADER, answer.code)
        .header('x-keeper-attempts', String(answer.attempts))
        .header('cache-control', 'no-store')
        .send(answer.body);
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      const { id } = request.params as { id: string };
      if (!UUID.test(id))
        throw new AdsProxyError(
          400,
          'bad_connection_id',
          'The connection id must be a UUID.',
        );
      const target = adsTargetOf(request.raw.url ?? '');
      const log: AdsCallLog = {
        connectionId: id,
        path: loggedPath(target),
        origin: 'keeper',
      };
      (request as AdsRequest).adsCall = log;
      // A connection outside the key's set answers exactly as an unknown one (same status,
      // body and headers, from the same place), before its row or token is read.
      const caller = (request as AdsRequest).serviceKey;
      if (!caller || !mayReadConnection(caller, id))
        throw unknownAdsConnection(id);
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const body = request.body;
      const answer = await proxy.forward({
        connectionId: id,
        method: request.method,
        target,
        headers: request.headers,
        body: Buffer.isBuffer(body) && body.length > 0 ? body : undefined,
        correlationId: request.id,
        actor: `service:${caller.id}`,
        signal: gone.signal,
      });
      const { response } = answer;
      const status = response.statusCode;
      const keeperMs = Math.max(
        0,
        performance.now() - started - answer.amazonMs - answer.waitedMs,
      );
      Object.assign(log, {
        origin: 'amazon',
        attempts: answer.attempts,
        amazonMs: Math.round(answer.amazonMs),
        keeperMs: Math.round(keeperMs * 10) / 10,
      });
      metrics.recordCall({
        region: answer.region,
        method: request.method,
        status,
        origin: 'amazon',
        overheadSeconds: keeperMs / 1000,
      });
      void reply
        .code(status)
        .headers(downstreamResponseHeaders(response.headers))
        .header('x-keeper-attempts', String(answer.attempts));
      if (BODYLESS.has(status) || request.method === 'HEAD') {
        discard(response);
        return reply.send();
      }
      return reply.send(response.body);
    };
    scope.route({
      method: [...PROXY_METHODS],
      url: PROXY_ROUTE,
      handler,
    });
  });
}

/**
 * The route in the OpenAPI document (it is no Nest controller, so Swagger does not see it):
 * one operation per method, `{path}` standing for the Ads API path.
 */
export function documentAdsProxy(document: OpenAPIObject): OpenAPIObject {
  const operation = (method: string) => ({
    operationId: `AdsProxy_${method}`,
    summary:
      "Call the Amazon Ads API through the keeper with the connection's token (service API key)",
    description:
      "Sends the call to the connection's region host with its access token and our client id; " +
      'Amazon-Advertising-API-Scope is checked against its profiles; a 401 gets one refresh and one retry; ' +
      "429s are waited out; redirects (report downloads) come back as they are. The keeper's own " +
      'answers carry `x-keeper-error`. README: "Call the Ads API through the keeper".',
    tags: ['Ads API proxy (for jobs)'],
    security: [{ serviceKey: [] }],
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string', format: 'uuid' },
      },
      {
        name: 'path',
        in: 'path',
        required: true,
        description: 'The Ads API path, e.g. v2/profiles',
        schema: { type: 'string' },
      },
    ],
    responses: {
      default: {
        description: "Amazon's answer, or the keeper's own (x-keeper-error)",
      },
    },
  });
  document.paths[`/${API_PREFIX}/connections/{id}/ads/{path}`] =
    Object.fromEntries(
      PROXY_METHODS.filter((method) => method !== 'HEAD').map((method) => [
        method.toLowerCase(),
        operation(method.toLowerCase()),
      ]),
    );
  return document;
}

type AdsRequest = FastifyRequest & {
  adsCall?: AdsCallLog;
  serviceKey?: ServiceKeyCaller;
};

/** The keeper's own answer for an error on a proxy route, in the API's error shape. */
function keeperError(
  error: FastifyError | Error,
  correlationId: string,
  logger: Logger,
): {
  body: ApiErrorDto;
  code: string;
  retryAfterSeconds?: number;
  attempts: number;
} {
  let attempts = 0;
  let statusCode = 500;
  let code = 'internal';
  let message = 'Internal server error';
  let retryAfterSeconds: number | undefined;
  if (error instanceof AdsProxyError) {
    statusCode = error.httpStatus;
    code = error.code;
    message = error.message;
    retryAfterSeconds = error.retryAfterSeconds;
    attempts = error.attempts;
  } else if (error instanceof AdsPathError) {
    statusCode = 400;
    code = 'bad_path';
    message = error.message;
  } else if (error instanceof DomainError) {
    statusCode = error.httpStatus;
    code = codeOf(error);
    message = error.message;
  } else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    statusCode = 413;
    code = 'body_too_large';
    message = `The request body is larger than ${PROXY_BODY_LIMIT / 1024 / 1024} MB, the most the proxy holds for a retry.`;
  } else if (
    typeof (error as FastifyError).statusCode === 'number' &&
    ((error as FastifyError).statusCode as number) < 500
  ) {
    statusCode = (error as FastifyError).statusCode as number;
    code = 'bad_request';
    message = error.message;
  }
  if (statusCode >= 500 && code === 'internal')
    logger.error({ err: error, correlationId }, 'Ads API proxy failed');
  return {
    body: {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message,
      correlationId,
    },
    code,
    retryAfterSeconds,
    attempts,
  };
}

/** `RefreshPausedError` → `refresh_paused`: the keeper's domain errors, by name. */
function codeOf(error: DomainError): string {
  return error.name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
