import { DomainError } from '../common/domain-errors';

/**
 * What went wrong talking to Login with Amazon or the Ads API. Callers switch on `kind`
 * (the refresh scheduler maps `invalid_grant` to `needs_reauth`, transient kinds to `degraded`).
 */
export type LwaErrorKind =
  | 'invalid_grant'
  | 'invalid_client'
  | 'forbidden'
  | 'unauthorized'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'malformed_response'
  | 'request_rejected'
  | 'aborted';

/** Which Amazon endpoint a request went to; the only request detail that may be logged. */
export type LwaEndpointKind = 'token' | 'profiles' | 'dsp_advertisers';

export interface LwaErrorDetails {
  /** Amazon's HTTP status, when it answered at all. */
  upstreamStatus?: number;
  /** How long Amazon asked us to wait (`Retry-After`), when it said and we could read it. */
  retryAfterMs?: number;
}

/**
 * Every failure of an Amazon call. Messages are plain English for the admin and the API's
 * error filter: never a response body, token, authorization code or client secret. The
 * underlying transport error is deliberately not kept as `cause`: HTTP client errors tend to
 * carry the request (form body with the client secret and the refresh token).
 */
export abstract class LwaError extends DomainError {
  abstract readonly kind: LwaErrorKind;
  /** True when trying again later may succeed (and the client retries it with backoff). */
  abstract readonly transient: boolean;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  protected constructor(message: string, details: LwaErrorDetails = {}) {
    super(message);
    this.upstreamStatus = details.upstreamStatus;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Which grant Amazon refused: the one-time code from the consent page, or a stored refresh token. */
export type LwaGrantType = 'authorization_code' | 'refresh_token';

/**
 * `invalid_grant`: the refresh token is revoked or expired, or the authorization code is
 * invalid, used or expired. Only a new consent helps. 409: the connection's state, not the
 * request, is what stands in the way.
 */
export class LwaInvalidGrantError extends LwaError {
  readonly kind = 'invalid_grant';
  readonly transient = false;
  readonly httpStatus = 409;

  constructor(
    readonly grantType: LwaGrantType,
    /** Amazon's `error_description`, scrubbed and truncated (see {@link amazonDescription}). */
    readonly description?: string,
    details: LwaErrorDetails = {},
  ) {
    super(
      withDescription(
        grantType === 'authorization_code'
          ? 'Amazon rejected the authorization code (expired, already used or issued for another redirect URI); connect the Amazon account again.'
          : 'Amazon no longer accepts this connection’s refresh token (revoked or expired); connect the Amazon account again.',
        description,
      ),
      details,
    );
  }
}

/**
 * `invalid_client` / `unauthorized_client`: Amazon refused OUR client credentials or this
 * client's use of the grant. An operator must fix the configuration. 502: from the caller's
 * side it is an upstream failure they cannot fix by changing their request.
 */
export class LwaInvalidClientError extends LwaError {
  readonly kind = 'invalid_client';
  readonly transient = false;
  readonly httpStatus = 502;

  constructor(
    readonly oauthError: 'invalid_client' | 'unauthorized_client',
    readonly description?: string,
    details: LwaErrorDetails = {},
  ) {
    super(
      withDescription(
        oauthError === 'invalid_client'
          ? 'Amazon rejected this service’s client credentials; an operator must check AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET.'
          : 'Amazon does not allow this service’s client to use this grant; an operator must check the security profile behind AMAZON_CLIENT_ID.',
        description,
      ),
      details,
    );
  }
}

const FORBIDDEN_MESSAGES: Record<LwaEndpointKind, string> = {
  token: 'Amazon refused the token request (403).',
  profiles:
    'The Amazon Ads API refused access (403); the account may not be registered for Amazon Advertising or the client may lack Ads API access.',
  dsp_advertisers:
    'The Amazon Ads API refused to list the DSP advertisers of this profile (403); it may have no Amazon DSP access.',
};

/** 403 from the token endpoint or the Ads API (for the latter: the account is not an Ads API user). 502. */
export class LwaForbiddenError extends LwaError {
  readonly kind = 'forbidden';
  readonly transient = false;
  readonly httpStatus = 502;

  constructor(
    readonly endpoint: LwaEndpointKind,
    details: LwaErrorDetails = { upstreamStatus: 403 },
  ) {
    super(FORBIDDEN_MESSAGES[endpoint], details);
  }
}

/**
 * 401 from the Ads API: the ACCESS token was rejected (expired early or revoked). Not the same
 * as `invalid_grant`: refreshing may well fix it, so the caller refreshes and asks again; the
 * client itself does not retry it. 502.
 */
export class LwaUnauthorizedError extends LwaError {
  readonly kind = 'unauthorized';
  readonly transient = false;
  readonly httpStatus = 502;

  constructor(details: LwaErrorDetails = { upstreamStatus: 401 }) {
    super(
      'The Amazon Ads API rejected the access token (401); refresh the connection and try again.',
      details,
    );
  }
}

/** 429. Carries `retryAfterMs` when Amazon sent a readable `Retry-After`. 503: try again later. */
export class LwaRateLimitedError extends LwaError {
  readonly kind = 'rate_limited';
  readonly transient = true;
  readonly httpStatus = 503;

  constructor(retryAfterMs: number | undefined) {
    super(
      retryAfterMs === undefined
        ? 'Amazon is rate-limiting this service; try again shortly.'
        : `Amazon is rate-limiting this service; try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`,
      { upstreamStatus: 429, retryAfterMs },
    );
  }
}

/** 5xx (or an OAuth `server_error` / `temporarily_unavailable`). 502. */
export class LwaServerError extends LwaError {
  readonly kind = 'server_error';
  readonly transient = true;
  readonly httpStatus = 502;

  constructor(
    readonly status: number,
    retryAfterMs?: number,
  ) {
    super(
      `Amazon answered with a server error (HTTP ${status}); try again shortly.`,
      { upstreamStatus: status, retryAfterMs },
    );
  }
}

/** No complete answer within the client's timeout. 504. */
export class LwaTimeoutError extends LwaError {
  readonly kind = 'timeout';
  readonly transient = true;
  readonly httpStatus = 504;

  constructor(readonly timeoutMs: number) {
    super(`Amazon did not answer within ${formatDuration(timeoutMs)}.`);
  }
}

/** The connection failed: reset, refused, socket hang up, DNS. `code` is Node's (`ECONNRESET`). 502. */
export class LwaNetworkError extends LwaError {
  readonly kind = 'network';
  readonly transient = true;
  readonly httpStatus = 502;

  constructor(readonly code: string | undefined) {
    super(`Could not reach Amazon${code ? ` (${code})` : ''}.`);
  }
}

/**
 * A success status with a body that is not the JSON we expect. `reason` names the problem
 * (field names only, never values) for logs. 502.
 */
export class LwaMalformedResponseError extends LwaError {
  readonly kind = 'malformed_response';
  readonly transient = true;
  readonly httpStatus = 502;

  constructor(
    readonly reason: string,
    details: LwaErrorDetails = {},
  ) {
    super('Amazon’s answer was not in the expected format.', details);
  }
}

/**
 * Any other 4xx (`invalid_request`, `unsupported_grant_type`, 404…): our request was wrong and
 * sending it again will not help. 502.
 */
export class LwaRequestRejectedError extends LwaError {
  readonly kind = 'request_rejected';
  readonly transient = false;
  readonly httpStatus = 502;

  constructor(
    readonly status: number,
    /** Amazon's OAuth `error` (or Ads API `code`) when it is a plain identifier. */
    readonly oauthError?: string,
    readonly description?: string,
  ) {
    super(
      withDescription(
        `Amazon rejected the request (HTTP ${status}${oauthError ? `, ${oauthError}` : ''}).`,
        description,
      ),
      { upstreamStatus: status },
    );
  }
}

/** The caller's `AbortSignal` fired; never retried. 503. */
export class LwaAbortedError extends LwaError {
  readonly kind = 'aborted';
  readonly transient = false;
  readonly httpStatus = 503;

  constructor() {
    super('The request to Amazon was cancelled.');
  }
}

function withDescription(
  message: string,
  description: string | undefined,
): string {
  return description ? `${message} Amazon said: “${description}”` : message;
}

function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
