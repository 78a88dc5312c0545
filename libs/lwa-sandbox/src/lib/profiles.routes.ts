import { AdsProfile, profilesFor } from './accounts';
import { answerAdsFault, authenticateAds, sendAdsError } from './ads-api';
import type { Exchange, SandboxContext } from './exchange';
import { sendJson, sendText } from './http-io';

const PROFILE_PATH = /^\/v2\/profiles\/(\d{1,20})$/;

export function isProfilesPath(path: string): boolean {
  return path === '/v2/profiles' || PROFILE_PATH.test(path);
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
  const fault = await answerAdsFault(ctx, x, 'profiles');
  if (fault === 'answered') return;
  if (fault === 'malformed_json') {
    sendText(
      x.res,
      200,
      'application/json',
      '[{"profileId":31415926,"countryCode":"US","currencyCo',
    );
    return;
  }
  // /v2/profiles is the one Ads path that needs no Amazon-Advertising-API-Scope.
  const caller = authenticateAds(ctx, x, false);
  if (!caller) return;
  const { grant } = caller;
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
