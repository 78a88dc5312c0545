import type { ApiErrorDto } from '@keeper/contracts';
import { CORRELATION_HEADER } from '@keeper/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';

/**
 * Fastify's router answers some requests before any hook or Nest filter runs: a path with broken
 * percent-encoding (`/connections/%`) and a path parameter over 100 characters. Its own body
 * has another shape, no correlation id, and echoes the path; this one is ours and echoes nothing.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const statusCode = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const body: ApiErrorDto = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message:
      statusCode === 414
        ? 'A path parameter is too long.'
        : 'The request URL is malformed.',
    correlationId: String(request.id),
  };
  // The Ads API proxy marks its own answers (README, "Call the Ads API through the keeper"):
  // a URL the router refuses under its prefix is one of them, never Amazon's.
  if (/^\/api\/v1\/connections\/[^/]*\/ads\//.test(request.raw.url ?? ''))
    void reply.header('x-keeper-error', 'bad_path');
  void reply
    .code(statusCode)
    .header(CORRELATION_HEADER, request.id)
    .header('cache-control', 'no-store')
    .send(body);
}
