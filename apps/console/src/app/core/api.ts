import {
  HttpContext,
  HttpContextToken,
  HttpErrorResponse,
} from '@angular/common/http';
import { CORRELATION_HEADER, type ApiErrorDto } from '@keeper/contracts';

/** Where the API answers; the dev server and nginx proxy it on the console's own origin. */
export const API_PREFIX = '/api/v1';

/**
 * How the API interceptor treats a failed call:
 * - `toast`: a snackbar with the message and the correlation id (the default);
 * - `quiet`: no snackbar, for background reloads and for callers that word their own;
 * - `caller`: the caller handles every failure, a 401 included (the login page, the session check).
 *
 * Outside `caller`, a 401 always ends the session and leads to the login page.
 */
export type ErrorHandling = 'toast' | 'quiet' | 'caller';

export const ERROR_HANDLING = new HttpContextToken<ErrorHandling>(
  () => 'toast',
);

/** Request options that set how a failure is handled. */
export function handleErrors(mode: ErrorHandling): { context: HttpContext } {
  return { context: new HttpContext().set(ERROR_HANDLING, mode) };
}

/** A failed API call, in words an admin can act on. */
export interface ApiFailure {
  /** 0 when the API did not answer at all. */
  status: number;
  message: string;
  /** The id to search the API's logs for, when the API answered. */
  correlationId: string | null;
}

/** What a proxy answers when the API behind it is down or slow. */
const GATEWAY_STATUSES = new Set([502, 503, 504]);

function isApiErrorBody(body: unknown): body is ApiErrorDto {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ApiErrorDto).message === 'string'
  );
}

/** What went wrong with an API call: the API's own message when it sent one. */
export function describeApiFailure(error: unknown): ApiFailure {
  if (!(error instanceof HttpErrorResponse)) {
    return {
      status: 0,
      message: 'Something went wrong in the console.',
      correlationId: null,
    };
  }
  const body: unknown = error.error;
  const correlationId =
    (isApiErrorBody(body) && typeof body.correlationId === 'string'
      ? body.correlationId
      : null) ??
    error.headers?.get(CORRELATION_HEADER) ??
    null;
  if (isApiErrorBody(body)) {
    return { status: error.status, message: body.message, correlationId };
  }
  if (error.status === 0) {
    return {
      status: 0,
      message:
        'The API did not answer. Check that it is running, then try again.',
      correlationId: null,
    };
  }
  const answered = `${error.status}${error.statusText ? ` ${error.statusText}` : ''}`;
  if (GATEWAY_STATUSES.has(error.status)) {
    // Not the API's own error shape: the proxy in front of it (dev server, nginx) answered.
    return {
      status: error.status,
      message: `The API did not answer (the proxy said ${answered}). Check that it is running, then try again.`,
      correlationId,
    };
  }
  return {
    status: error.status,
    message: `The API answered ${answered}.`,
    correlationId,
  };
}
