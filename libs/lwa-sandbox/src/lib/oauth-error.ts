/** The `error` codes Login with Amazon answers (RFC 6749 sections 4.1.2.1 and 5.2). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable';

/** An OAuth error the token endpoint answers as `{ error, error_description }`. */
export interface OAuthError {
  status: number;
  error: OAuthErrorCode;
  description: string;
}

export function invalidRequest(description: string): OAuthError {
  return { status: 400, error: 'invalid_request', description };
}

export function missingParameter(name: string): OAuthError {
  return invalidRequest(
    `The request is missing a required parameter : ${name}`,
  );
}

export function invalidGrant(parameter: string, why: string): OAuthError {
  return {
    status: 400,
    error: 'invalid_grant',
    description: `The request has an invalid grant parameter : ${parameter}. ${why}`,
  };
}

export const INVALID_CLIENT: OAuthError = {
  status: 401,
  error: 'invalid_client',
  description: 'Client authentication failed',
};

export const UNAUTHORIZED_CLIENT: OAuthError = {
  status: 400,
  error: 'unauthorized_client',
  description: 'The client is not authorized for the requested operation',
};

export function unsupportedGrantType(grantType: string): OAuthError {
  return {
    status: 400,
    error: 'unsupported_grant_type',
    description: `The authorization grant type is not supported by the authorization server: ${grantType.slice(0, 40)}`,
  };
}
