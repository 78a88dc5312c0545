import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { ApiErrorDto } from '@keeper/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DomainError } from './domain-errors';

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** Fastify's own 4xx errors (bad JSON, wrong content type, body too large) are the caller's. */
function isClientError(exception: unknown): exception is FastifyLikeError {
  const status = (exception as FastifyLikeError | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function isHealthCheckFailure(exception: unknown): exception is HttpException {
  if (!(exception instanceof HttpException) || exception.getStatus() !== 503)
    return false;
  const body = exception.getResponse();
  return (
    typeof body === 'object' &&
    body !== null &&
    'details' in body &&
    'status' in body
  );
}

/**
 * Fastify's own errors (unparsable JSON, body too large) reach this filter too: Nest installs
 * Fastify's error handler and routes it through the global filters.
 *
 * Turns every failure into `{ statusCode, error, message, correlationId }`. An error we did
 * not expect is logged with its stack and answered with a generic 500, never its message.
 */
function toApiError(
  exception: unknown,
  correlationId: string,
  logger: Logger,
): ApiErrorDto {
  let statusCode = 500;
  let message = 'Internal server error';
  if (exception instanceof HttpException) {
    statusCode = exception.getStatus();
    message = messageOf(exception);
    // Nest's "Cannot GET /path?query" would echo the query (an OAuth code, say) back.
    if (statusCode === 404 && message.startsWith('Cannot '))
      message = message.split('?')[0];
  } else if (exception instanceof DomainError) {
    statusCode = exception.httpStatus;
    message = exception.message;
  } else if (isClientError(exception)) {
    statusCode = exception.statusCode ?? 400;
    message =
      exception.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      /JSON/.test(exception.message)
        ? 'The request body is not valid JSON.'
        : exception.message;
  }
  if (statusCode >= 500 && !(exception instanceof DomainError)) {
    logger.error({ err: exception, correlationId }, 'Unhandled error');
  }
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    correlationId,
  };
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (isHealthCheckFailure(exception)) {
      // Probes and operators read Terminus' own body: which check is down and why.
      void reply
        .status(503)
        .header('cache-control', 'no-store')
        .send(exception.getResponse());
      return;
    }
    const body = toApiError(exception, String(request.id), this.logger);
    void reply
      .status(body.statusCode)
      .header('cache-control', 'no-store')
      .send(body);
  }
}
