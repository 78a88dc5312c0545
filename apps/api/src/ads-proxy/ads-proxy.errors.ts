import { DomainError } from '../common/domain-errors';

/**
 * An answer the keeper gives itself (not Amazon's): sent in the keeper's error shape with the
 * `x-keeper-error` header naming `code`, so a caller tells it apart from Amazon's answers.
 */
export class AdsProxyError extends DomainError {
  constructor(
    readonly httpStatus: number,
    /** The `x-keeper-error` value: `unknown_connection`, `bad_path`, `unknown_scope` … */
    readonly code: string,
    message: string,
    /** Seconds, for a `Retry-After` header. */
    readonly retryAfterSeconds?: number,
    /** Calls sent to Amazon before the keeper gave this answer (0: none). */
    readonly attempts = 0,
  ) {
    super(message);
  }
}

/** The header that marks the keeper's own answers on the proxy's routes. */
export const KEEPER_ERROR_HEADER = 'x-keeper-error';

/**
 * The proxy's answer for a connection that does not exist, and, word for word, for one the
 * service key may not read: the key learns nothing about connections outside its set.
 */
export function unknownAdsConnection(id: string): AdsProxyError {
  return new AdsProxyError(
    404,
    'unknown_connection',
    `There is no connection ${id}.`,
  );
}
