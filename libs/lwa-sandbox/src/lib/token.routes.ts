import { fingerprint } from './credentials';
import type { Exchange, SandboxContext } from './exchange';
import { applyTransportFault, retryAfterHeaders } from './fault-responses';
import {
  BodyTooLargeError,
  isFormContentType,
  readBody,
  repeatedParameter,
  sendJson,
  sendText,
} from './http-io';
import {
  INVALID_CLIENT,
  invalidRequest,
  missingParameter,
  OAuthError,
  UNAUTHORIZED_CLIENT,
  unsupportedGrantType,
} from './oauth-error';
import type { TokenResult } from './sandbox-authority';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function sendOAuthError(
  x: Exchange,
  error: OAuthError,
  headers: Record<string, string> = {},
): void {
  x.record.outcome = error.error;
  sendJson(
    x.res,
    error.status,
    { error: error.error, error_description: error.description },
    { ...NO_STORE, ...headers },
  );
}

type BasicCredentials =
  | { clientId: string; clientSecret: string }
  | 'malformed'
  | undefined;

function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** RFC 6749 2.3.1: Basic with the form-encoded id and secret. */
function basicCredentials(header: string | undefined): BasicCredentials {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match?.[1]) return 'malformed';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  };
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="LWA sandbox"' };

/** Answers a token-endpoint fault; true when answered. */
async function answerFault(ctx: SandboxContext, x: Exchange): Promise<boolean> {
  const fault = ctx.faults.take('token');
  if (!fault) return false;
  if (await applyTransportFault(ctx, x, fault)) return true;
  const retryAfter = retryAfterHeaders(fault, ctx.authority.now());
  switch (fault.kind) {
    case '429':
      sendJson(
        x.res,
        429,
        { error: 'too_many_requests', error_description: 'Rate exceeded' },
        { ...NO_STORE, ...retryAfter },
      );
      return true;
    case '500':
      sendJson(
        x.res,
        500,
        { error: 'server_error', error_description: 'Internal Server Error' },
        NO_STORE,
      );
      return true;
    case '503':
      sendJson(
        x.res,
        503,
        {
          error: 'temporarily_unavailable',
          error_description: 'Service Unavailable',
        },
        { ...NO_STORE, ...retryAfter },
      );
      return true;
    case 'malformed_json':
      sendText(
        x.res,
        200,
        'application/json;charset=UTF-8',
        '{"access_token":"Atza|IwEBIA","refresh_tok',
      );
      return true;
    case 'invalid_grant':
      sendJson(
        x.res,
        400,
        {
          error: 'invalid_grant',
          error_description:
            'The request has an invalid grant parameter : refresh_token',
        },
        NO_STORE,
      );
      return true;
    case 'invalid_client':
      sendJson(
        x.res,
        401,
        {
          error: INVALID_CLIENT.error,
          error_description: INVALID_CLIENT.description,
        },
        NO_STORE,
      );
      return true;
    case 'unauthorized_client':
      sendJson(
        x.res,
        400,
        {
          error: UNAUTHORIZED_CLIENT.error,
          error_description: UNAUTHORIZED_CLIENT.description,
        },
        NO_STORE,
      );
      return true;
    default:
      return false;
  }
}

/** `POST /auth/o2/token`: authorization_code and refresh_token grants. */
export async function handleToken(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'token';
  if (x.req.method !== 'POST') {
    sendOAuthError(
      x,
      {
        ...invalidRequest('The token endpoint accepts POST only'),
        status: 405,
      },
      { Allow: 'POST' },
    );
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(x.req, ctx.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      sendOAuthError(
        x,
        {
          ...invalidRequest(
            `The request body is larger than ${ctx.maxBodyBytes} bytes`,
          ),
          status: 413,
        },
        { Connection: 'close' },
      );
      return;
    }
    throw error;
  }
  const params = isFormContentType(x.req)
    ? new URLSearchParams(body.toString('utf8'))
    : undefined;
  x.record.grantType = params?.get('grant_type')?.slice(0, 40) ?? undefined;
  // Fingerprinted before any fault answers, so a test can tell whose request a 429 or a timeout hit.
  const presented =
    x.record.grantType === 'refresh_token'
      ? params?.get('refresh_token')
      : x.record.grantType === 'authorization_code'
        ? params?.get('code')
        : undefined;
  if (presented) x.record.credential = fingerprint(presented);
  // Amazon's own latency (about 150 ms), before any fault or answer.
  const delayMs = ctx.authority.settings.tokenDelayMs;
  if (delayMs > 0) await ctx.pending.delay(delayMs);
  if (await answerFault(ctx, x)) return;
  if (!params) {
    sendOAuthError(
      x,
      invalidRequest('Content-Type must be application/x-www-form-urlencoded'),
    );
    return;
  }
  const repeated = repeatedParameter(params);
  if (repeated !== undefined) {
    sendOAuthError(
      x,
      invalidRequest(
        `The parameter ${repeated.slice(0, 40)} appears more than once`,
      ),
    );
    return;
  }

  const basic = basicCredentials(x.req.headers.authorization);
  if (basic === 'malformed') {
    sendOAuthError(x, INVALID_CLIENT, BASIC_CHALLENGE);
    return;
  }
  const bodyClientId = params.get('client_id') ?? undefined;
  const bodySecret = params.get('client_secret') ?? undefined;
  if (
    basic &&
    (bodySecret !== undefined ||
      (bodyClientId !== undefined && bodyClientId !== basic.clientId))
  ) {
    sendOAuthError(
      x,
      invalidRequest(
        'Use one client authentication method: HTTP Basic or client_id and client_secret in the body',
      ),
    );
    return;
  }
  const clientId = basic?.clientId ?? bodyClientId;
  const clientSecret = basic?.clientSecret ?? bodySecret;
  x.record.clientId = clientId?.slice(0, 100);
  if (!clientId) {
    sendOAuthError(x, missingParameter('client_id'));
    return;
  }
  const clientError = ctx.authority.authenticateClient(
    clientId,
    clientSecret ?? '',
  );
  if (clientSecret === undefined || clientError) {
    sendOAuthError(x, INVALID_CLIENT, basic ? BASIC_CHALLENGE : {});
    return;
  }

  const grantType = params.get('grant_type');
  let result: TokenResult;
  switch (grantType) {
    case null:
    case '':
      sendOAuthError(x, missingParameter('grant_type'));
      return;
    case 'authorization_code': {
      const code = params.get('code');
      if (code) x.record.credential = fingerprint(code);
      result = ctx.authority.exchangeCode(clientId, params);
      break;
    }
    case 'refresh_token': {
      const refreshToken = params.get('refresh_token');
      if (refreshToken) x.record.credential = fingerprint(refreshToken);
      result = ctx.authority.refresh(clientId, params);
      break;
    }
    case 'client_credentials':
      sendOAuthError(x, UNAUTHORIZED_CLIENT);
      return;
    default:
      sendOAuthError(x, unsupportedGrantType(grantType));
      return;
  }
  x.record.accountId = result.account?.id;
  if (!result.ok) {
    sendOAuthError(x, result.error);
    return;
  }
  x.record.outcome = 'ok';
  sendJson(x.res, 200, result.body, NO_STORE);
}
