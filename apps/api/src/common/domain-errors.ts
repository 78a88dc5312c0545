/**
 * Errors the services throw in plain English; {@link ApiExceptionFilter} maps each to its
 * HTTP status. The message is shown to the caller, so it never carries a secret.
 */
export abstract class DomainError extends Error {
  abstract readonly httpStatus: number;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request names something the service cannot use (a cursor of another sort, say). */
export class InvalidRequestError extends DomainError {
  readonly httpStatus = 400;
}

export class NotFoundError extends DomainError {
  readonly httpStatus = 404;
}

export class ConflictError extends DomainError {
  readonly httpStatus = 409;
}

export class DatabaseUnavailableError extends DomainError {
  readonly httpStatus = 503;

  /** `reason` is for logs and health checks; the caller sees a generic message. */
  constructor(readonly reason = 'not connected') {
    super('The database is unavailable right now; try again shortly.');
  }
}
