import type { FastifyInstance } from 'fastify';
import helmet, { HelmetOptions } from 'helmet';

/** What the API's pages need: Swagger UI styles itself inline; nothing is loaded from elsewhere. */
export const SECURITY_HEADER_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      scriptSrc: ["'self'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
};

/**
 * The headers `helmet` sets for `options`, computed once. Helmet stays the authority on what
 * they are; we only avoid running it per request: `@fastify/helmet` rebuilt the middleware
 * (and re-parsed the CSP directives) on every request, a tenth of the CPU of `/health/live`
 * in the profile, for headers that never change (we use no CSP nonces).
 */
export function securityHeaders(
  options: Readonly<HelmetOptions> = SECURITY_HEADER_OPTIONS,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value)
        ? value.join(', ')
        : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  // Helmet's middleware is synchronous; it reports a bad option through `next(error)`.
  helmet(options)({} as never, response as never, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}

/** Adds the security headers to every answer of `fastify` (one synchronous hook). */
export function addSecurityHeaders(
  fastify: FastifyInstance,
  headers = securityHeaders(),
): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
