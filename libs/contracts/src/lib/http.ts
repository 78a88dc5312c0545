/** Every error the API answers has this body. */
export interface ApiErrorDto {
  statusCode: number;
  error: string;
  message: string;
  correlationId: string;
}

export interface LoginRequest {
  password: string;
}

export interface SessionDto {
  authenticated: boolean;
  expiresAt: string | null;
}

/**
 * Where the callback sends the admin's browser back to: `/connections?connect=<outcome>`
 * plus `connectionId` on success or `reason` on failure.
 */
export const CONNECT_OUTCOMES = [
  'connected',
  'reconnected',
  'access_denied',
  'state_invalid',
  'state_expired',
  'amazon_error',
] as const;
export type ConnectOutcome = (typeof CONNECT_OUTCOMES)[number];

/** The header carrying the request's correlation id, in and out. */
export const CORRELATION_HEADER = 'x-request-id';
