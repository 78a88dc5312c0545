import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';
import { redactSecrets, redactUrl } from '../common/log-redaction';

/** Requests too frequent and too dull to log one line each. */
const QUIET_PATHS = new Set(['/health/live', '/metrics']);

/**
 * JSON logs, one line per request with its correlation id. Headers are never logged (so
 * neither `authorization` nor `cookie`), query values named like secrets are masked, and every
 * logged object passes through {@link redactSecrets}.
 */
export function loggerOptions(config: Pick<AppConfig, 'logLevel'>): Params {
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.logLevel,
      // Fastify made the id (from x-request-id or new) and put it on the raw request.
      genReqId: (request: IncomingMessage) => (request as IncomingMessage & { id: string }).id,
      serializers: {
        req: (request: { id: string; method: string; url: string }) => ({
          id: request.id,
          method: request.method,
          url: redactUrl(request.url),
        }),
        // pino's standard serializer reports null when it cannot see the headers go out,
        // which is the case behind Fastify; the raw response knows the status.
        res: (response: { statusCode: number | null; raw?: ServerResponse }) => ({
          statusCode: response.raw?.statusCode ?? response.statusCode,
        }),
      },
      formatters: {
        log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
      },
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], remove: true },
      customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
        error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
      // Middie (Nest's middleware runner on Fastify) rewrites `url` relative to the middleware's
      // mount point while it runs; `originalUrl` keeps what the client asked for.
      autoLogging: {
        ignore: (request: IncomingMessage & { originalUrl?: string }) =>
          QUIET_PATHS.has((request.originalUrl ?? request.url ?? '').split('?')[0]),
      },
      customSuccessMessage: (request: IncomingMessage, response: ServerResponse) =>
        `${request.method} ${redactUrl(request.url ?? '')} ${response.statusCode}`,
      customErrorMessage: (request: IncomingMessage, response: ServerResponse) =>
        `${request.method} ${redactUrl(request.url ?? '')} ${response.statusCode}`,
      customAttributeKeys: { reqId: 'correlationId' },
    },
  };
}
