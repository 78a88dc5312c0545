import { randomUUID } from 'node:crypto';
import { AdsProfile, profilesFor } from './accounts';
import { fingerprint } from './credentials';
import type { Exchange, SandboxContext } from './exchange';
import type { FaultEndpoint } from './fault-queue';
import { applyTransportFault, retryAfterHeaders } from './fault-responses';
import { sendJson } from './http-io';
import type { AccessGrant } from './sandbox-authority';

/**
 * Ads API errors are `{ code, details, requestId }` with the same id in `x-amzn-RequestId`,
 * as Amazon answers them (e.g. `{"code":"401","details":"Authentication failed","requestId":…}`
 * in amzn/amazon-advertising-api-php-sdk#10, `{"code":"NOT_FOUND","details":"Could not find
 * resource for full path: …"}` in amzn/ads-advanced-tools-docs#310).
 */
export function sendAdsError(
  x: Exchange,
  status: number,
  code: string,
  details: string,
  headers: Record<string, string> = {},
): void {
  const requestId = randomUUID();
  x.record.outcome ??= code.toLowerCase();
  sendJson(
    x.res,
    status,
    { code, details, requestId },
    { 'x-amzn-RequestId': requestId, ...headers },
  );
}

/**
 * Takes the head fault of an Ads queue and answers it in Amazon's error shape. Answers true
 * when the request is finished with; false when there was none, or after a `slow` delay, or
 * for a kind the caller shapes itself (`malformed_json` on profiles).
 */
export async function answerAdsFault(
  ctx: SandboxContext,
  x: Exchange,
  endpoint: Extract<FaultEndpoint, 'profiles' | 'ads'>,
): Promise<'answered' | 'none' | 'malformed_json'> {
  const fault = ctx.faults.take(endpoint);
  if (!fault) return 'none';
  if (await applyTransportFault(ctx, x, fault)) return 'answered';
  const retryAfter = retryAfterHeaders(fault, ctx.authority.now());
  switch (fault.kind) {
    case '429':
      // Amazon's throttling answer; it often comes without Retry-After (see the README).
      sendAdsError(x, 429, '429', 'Too Many Requests', retryAfter);
      return 'answered';
    case '500':
      sendAdsError(x, 500, '500', 'Internal Server Error');
      return 'answered';
    case '503':
      sendAdsError(x, 503, '503', 'Service Unavailable', retryAfter);
      return 'answered';
    case 'unauthorized':
      sendAdsError(x, 401, 'UNAUTHORIZED', 'HTTP 401 Unauthorized');
      return 'answered';
    case 'malformed_json':
      return 'malformed_json';
    default:
      // slow: the normal answer follows.
      return 'none';
  }
}

/** Who is calling, once the headers passed Amazon's checks. */
export interface AdsCaller {
  grant: AccessGrant;
  /** The profile named by `Amazon-Advertising-API-Scope`, when the path needs one. */
  profile: AdsProfile | undefined;
}

/**
 * Checks a request's credentials as the Ads API does, in this order, and answers the
 * refusal itself (returning undefined):
 * - no `Authorization: Bearer …`: 401 UNAUTHORIZED;
 * - no `Amazon-Advertising-API-ClientId`: 400 BAD_REQUEST;
 * - a token that is unknown, revoked or expired: 401 UNAUTHORIZED (Amazon's
 *   "Authentication failed"/"HTTP 401 Unauthorized", php-sdk#10 and #9);
 * - a client id that is not the one the token was issued to: 401 UNAUTHORIZED;
 * - with `requireScope`: no `Amazon-Advertising-API-Scope`, 400 BAD_REQUEST with Amazon's
 *   "Scope header is missing" (php-sdk#11; the status is our reading); a scope that is not a
 *   profile of the token's account, 401 UNAUTHORIZED "Not authorized to access scope <id>",
 *   the answer Ads API users report for another account's profile id. A 401 here does not mean
 *   the grant was revoked, which is why the proxy must not mark the connection on it.
 */
export function authenticateAds(
  ctx: SandboxContext,
  x: Exchange,
  requireScope: boolean,
): AdsCaller | undefined {
  const headers = x.req.headers;
  const scopeHeader = headers['amazon-advertising-api-scope'];
  if (typeof scopeHeader === 'string')
    x.record.scope = scopeHeader.slice(0, 40);
  const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '')?.[1];
  if (!bearer) {
    sendAdsError(
      x,
      401,
      'UNAUTHORIZED',
      'Missing or malformed Authorization: Bearer header',
    );
    return undefined;
  }
  x.record.credential = fingerprint(bearer);
  const headerClientId = headers['amazon-advertising-api-clientid'];
  if (typeof headerClientId !== 'string' || headerClientId === '') {
    x.record.outcome = 'missing_client_id';
    sendAdsError(
      x,
      400,
      'BAD_REQUEST',
      'Missing required header: Amazon-Advertising-API-ClientId',
    );
    return undefined;
  }
  x.record.clientId = headerClientId.slice(0, 100);
  const grant = ctx.authority.findAccessToken(bearer);
  if (!grant) {
    sendAdsError(x, 401, 'UNAUTHORIZED', 'HTTP 401 Unauthorized');
    return undefined;
  }
  x.record.accountId = grant.account.id;
  if (grant.clientId !== headerClientId) {
    x.record.outcome = 'client_id_mismatch';
    sendAdsError(
      x,
      401,
      'UNAUTHORIZED',
      'Amazon-Advertising-API-ClientId does not match the client the access token was issued to',
    );
    return undefined;
  }
  if (!requireScope) return { grant, profile: undefined };
  if (typeof scopeHeader !== 'string' || scopeHeader.trim() === '') {
    x.record.outcome = 'missing_scope';
    sendAdsError(x, 400, 'BAD_REQUEST', 'Scope header is missing');
    return undefined;
  }
  const scope = scopeHeader.trim();
  const profile = profilesFor(grant.account).find(
    (each) => String(each.profileId) === scope,
  );
  if (!profile) {
    x.record.outcome = 'scope_not_authorized';
    sendAdsError(
      x,
      401,
      'UNAUTHORIZED',
      `Not authorized to access scope ${scope.slice(0, 40)}`,
    );
    return undefined;
  }
  return { grant, profile };
}
