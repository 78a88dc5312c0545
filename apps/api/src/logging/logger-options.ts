import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Params } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';
import pino, { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { redactSecrets, redactUrl } from '../common/log-redaction';
import { LIVENESS_PATH } from '../health/liveness';

/** Requests too frequent and too dull to log one line each: probes and scrapers. */
const QUIET_PATHS = new Set([LIVENESS_PATH, '/metrics']);

/**
 * The process's one pino logger: JSON lines, every logged object through {@link redactSecrets}.
 * Headers are never logged (so neither `authorization` nor `cookie`).
 */
export function createRootLogger(config: Pick<AppConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    formatters: {
      log: (object: Record<string, unknown>) =>
        redactSecrets(object) as Record<string, unknown>,
    },
  });
}

/**
 * nestjs-pino serves Nest's `Logger` from `root` (and, inside a request, from the request's
 * child logger that {@link logRequests} binds). Its own request middleware is not mounted
 * (`forRoutes: []`): on Fastify it runs through middie and pino-http, two middleware calls and
 * a child logger on every request, probes included, which the profile put at a fifth of the
 * CPU of `/health/live`. Two Fastify hooks do the same job.
 */
export function loggerModuleParams(root: Logger): Params {
  return { pinoHttp: { logger: root }, forRoutes: [] };
}

/** `adsCall`: what the Ads API proxy adds to its calls' lines (ads-proxy.route.ts). */
type LoggedRequest = FastifyRequest & {
  requestLogger?: Logger | null;
  adsCall?: object;
};

const levelFor = (statusCode: number): 'error' | 'warn' | 'info' =>
  statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';

/**
 * One log line per answered request (`GET /path 200`, with `req`, `res`, `responseTime` and
 * the correlation id), and every line logged while a request runs carries its `correlationId`
 * (the request's child logger is bound in nestjs-pino's AsyncLocalStorage). Query values are
 * masked unless their name is on a short safe list, and secret-like path segments too
 * ({@link redactUrl}).
 */
export function logRequests(fastify: FastifyInstance, root: Logger): void {
  fastify.decorateRequest('requestLogger', null);
  fastify.addHook('onRequest', (request: LoggedRequest, _reply, done) => {
    if (QUIET_PATHS.has(request.url.split('?', 1)[0])) return done();
    const requestLogger = root.child({ correlationId: request.id });
    request.requestLogger = requestLogger;
    storage.run(new Store(requestLogger), done);
  });
  fastify.addHook(
    'onResponse',
    (request: LoggedRequest, reply: FastifyReply, done) => {
      const requestLogger = request.requestLogger;
      const statusCode = reply.statusCode;
      const level = levelFor(statusCode);
      // At LOG_LEVEL=warn (production's usual) a 2xx/3xx line is not written: build nothing for it.
      if (requestLogger?.isLevelEnabled(level)) {
        const url = redactUrl(request.url);
        requestLogger[level](
          {
            req: { id: request.id, method: request.method, url },
            res: { statusCode },
            responseTime: Math.round(reply.elapsedTime),
            ...(request.adsCall ? { ads: request.adsCall } : {}),
          },
          `${request.method} ${url} ${statusCode}`,
        );
      }
      done();
    },
  );
}
