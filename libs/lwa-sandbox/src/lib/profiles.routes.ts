import { randomUUID } from 'node:crypto';
import { AdsProfile, profilesFor } from './accounts';
import { fingerprint } from './credentials';
import type { Exchange, SandboxContext } from './exchange';
import { applyTransportFault, retryAfterHeaders } from './fault-responses';
import { sendJson, sendText } from './http-io';

const PROFILE_PATH = /^\/v2\/profiles\/(\d{1,20})$/;

/** Ads API errors are `{ code, details, requestId }`, and every answer carries a request id. */
function sendAdsError(
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

export function isProfilesPath(path: string): boolean {
  return path === '/v2/profiles' || PROFILE_PATH.test(path);
}

async function answerFault(ctx: SandboxContext, x: Exchange): Promise<boolean> {
  const fault = ctx.faults.take('profiles');
  if (!fault) return false;
  if (await applyTransportFault(ctx, x, fault)) return true;
  const retryAfter = retryAfterHeaders(fault, ctx.authority.now());
  switch (fault.kind) {
    case '429':
      sendAdsError(x, 429, '429', 'Too Many Requests', retryAfter);
      return true;
    case '500':
      sendAdsError(x, 500, '500', 'Internal Server Error');
      return true;
    case '503':
      sendAdsError(x, 503, '503', 'Service Unavailable', retryAfter);
      return true;
    case 'unauthorized':
      sendAdsError(x, 401, 'UNAUTHORIZED', 'HTTP 401 Unauthorized');
      return true;
    case 'malformed_json':
      sendText(
        x.res,
        200,
        'application/json',
        '[{"profileId":31415926,"countryCode":"US","currencyCo',
      );
      return true;
    default:
      return false;
  }
}

function applyFilters(
  profiles: AdsProfile[],
  query: URLSearchParams,
): AdsProfile[] {
  let result = profiles;
  const typeFilter = query.get('profileTypeFilter');
  if (typeFilter) {
    const types = new Set(typeFilter.split(',').map((type) => type.trim()));
    result = result.filter((profile) => types.has(profile.accountInfo.type));
  }
  const paymentFilter = query.get('validPaymentMethodFilter');
  if (paymentFilter === 'true' || paymentFilter === 'false') {
    result = result.filter(
      (profile) =>
        String(profile.accountInfo.validPaymentMethod) === paymentFilter,
    );
  }
  return result;
}

/** `GET /v2/profiles` and `GET /v2/profiles/{profileId}` of the Amazon Ads API. */
export async function handleProfiles(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'profiles';
  if (x.req.method !== 'GET') {
    sendAdsError(x, 405, 'METHOD_NOT_ALLOWED', 'Use GET', { Allow: 'GET' });
    return;
  }
  if (await answerFault(ctx, x)) return;
  const bearer = /^Bearer +(\S+) *$/i.exec(
    x.req.headers.authorization ?? '',
  )?.[1];
  if (!bearer) {
    sendAdsError(
      x,
      401,
      'UNAUTHORIZED',
      'Missing or malformed Authorization: Bearer header',
    );
    return;
  }
  x.record.credential = fingerprint(bearer);
  const headerClientId = x.req.headers['amazon-advertising-api-clientid'];
  if (typeof headerClientId !== 'string' || headerClientId === '') {
    x.record.outcome = 'missing_client_id';
    sendAdsError(
      x,
      400,
      'BAD_REQUEST',
      'Missing required header: Amazon-Advertising-API-ClientId',
    );
    return;
  }
  x.record.clientId = headerClientId.slice(0, 100);
  const grant = ctx.authority.findAccessToken(bearer);
  if (!grant) {
    sendAdsError(x, 401, 'UNAUTHORIZED', 'HTTP 401 Unauthorized');
    return;
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
    return;
  }
  const profiles = profilesFor(grant.account);
  const single = PROFILE_PATH.exec(x.url.pathname)?.[1];
  x.record.outcome = 'ok';
  if (single !== undefined) {
    const profile = profiles.find((each) => String(each.profileId) === single);
    if (!profile) {
      x.record.outcome = 'not_found';
      sendAdsError(x, 404, 'NOT_FOUND', 'Profile not found');
      return;
    }
    sendJson(x.res, 200, profile);
    return;
  }
  sendJson(x.res, 200, applyFilters(profiles, x.url.searchParams));
}
