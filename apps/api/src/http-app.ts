import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import {
  FastifyAdapter,
  NestFastifyApplication,
} from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { CORRELATION_HEADER, IMPORT_LIMITS } from '@keeper/contracts';
import type { IncomingMessage } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { Logger } from 'nestjs-pino';
import {
  documentAdsProxy,
  registerAdsProxy,
} from './ads-proxy/ads-proxy.route';
import { AppModule } from './app.module';
import { documentAccess } from './auth/access.openapi';
import { API_PREFIX } from './common/api-prefix';
import { correlationIdFor } from './common/correlation-id';
import { IMPORT_ROUTE } from './connection-import/connection-import.controller';
import { frameworkErrorHandler } from './common/framework-errors';
import { jsonBodyParser } from './common/json-body';
import { addSecurityHeaders } from './common/security-headers';
import { AppConfig } from './config/app-config';
import { LoadedKeyRing, loadKeyRing } from './crypto/key-ring.loader';
import { DatabaseTarget } from './database/data-source-options';
import { documentLiveness, registerLiveness } from './health/liveness';
import { createRootLogger, logRequests } from './logging/logger-options';

/** Operations endpoints stay at the root, where probes and scrapers expect them. */
const UNPREFIXED_PATHS = ['health', 'health/ready', 'metrics'];

const BODY_LIMIT = 64 * 1024;

/**
 * Builds the API exactly as it serves: Fastify, prefix, validation, errors, security headers,
 * Swagger. `main.ts` listens on it; integration tests use `inject()` or listen on port 0.
 * The key ring is loaded here (before Nest) unless the caller already did.
 */
export async function createHttpApp(
  config: AppConfig,
  database: DatabaseTarget,
  keyRing?: LoadedKeyRing,
): Promise<NestFastifyApplication> {
  const loadedKeyRing = keyRing ?? (await loadKeyRing(config));
  const adapter = new FastifyAdapter({
    genReqId: correlationIdFor,
    // Malformed URLs answered by the router itself get our error shape and correlation id too.
    frameworkErrors: frameworkErrorHandler,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // A request must arrive whole within 2 minutes (Fastify's default 0 lifts Node's limit):
    // a body sent a byte a minute must not hold a socket and its buffer forever.
    requestTimeout: 120_000,
    // The client's address (login limits, audit) and scheme (Secure cookies) come from
    // X-Forwarded-* only from the proxies TRUST_PROXY names; off, the peer is the client,
    // so nobody picks their own address with a header (README "Behind a proxy").
    trustProxy: config.trustProxy,
    // No Nest middleware is mounted (nestjs-pino's is replaced by `logRequests`), so middie's
    // request hook would only cost time on every request.
    skipMiddie: true,
  });
  const fastify = adapter.getInstance();
  // The import's body (a whole file) may be larger than every other body; it has its own limit.
  fastify.addHook('onRoute', (route) => {
    if (
      route.method === IMPORT_ROUTE.method &&
      route.url === `/${API_PREFIX}/${IMPORT_ROUTE.path}`
    )
      route.bodyLimit = IMPORT_LIMITS.maxBodyBytes;
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as IncomingMessage & { id: string }).id = request.id;
    void reply.header(CORRELATION_HEADER, request.id);
    done();
  });
  addSecurityHeaders(fastify);
  const logger = createRootLogger(config);
  logRequests(fastify, logger);
  registerLiveness(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, database, loadedKeyRing, logger),
    adapter,
    {
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(Logger));
  // JSON bodies are checked for depth and size before they are parsed (see json-body.ts);
  // naming one parser here stops Nest from adding its defaults, so forms are parsed here too.
  app.useBodyParser(
    'application/json',
    { bodyLimit: BODY_LIMIT },
    jsonBodyParser(fastify),
  );
  app.useBodyParser(
    'application/x-www-form-urlencoded',
    { bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, parseQueryString(body.toString())),
  );
  // Cookies are parsed and set here; the session cookie's signature is ours (SessionService).
  await app.register(fastifyCookie);
  await registerAdsProxy(fastify, app);
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_PATHS });

  // Built on the first visit, not at start: the document is large and most processes never serve it.
  const documentFactory = () =>
    documentAdsProxy(
      documentLiveness(
        documentAccess(
          app,
          SwaggerModule.createDocument(
            app,
            new DocumentBuilder()
              .setTitle('ads-token-keeper')
              .setDescription(
                'Keeps Amazon Advertising API (Login with Amazon) access tokens fresh.',
              )
              .setVersion('1')
              .build(),
          ),
        ),
      ),
    );
  SwaggerModule.setup('api/docs', app, documentFactory, {
    jsonDocumentUrl: 'api/docs-json',
  });
  return app;
}
