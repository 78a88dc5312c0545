import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';

/**
 * How a profile read changes what a connection reaches (README, "What the service does on its
 * own"): pure functions, so every case is a unit test (profile-merge.spec.ts).
 */

/** The Ads account type whose profiles manage Amazon DSP advertisers. */
export const AGENCY_ACCOUNT_TYPE = 'agency';

/**
 * The profiles to store after Amazon listed `listed`: the listed ones as Amazon sent them (a
 * profile lost earlier and listed again loses its `lostAt`), then every stored profile Amazon
 * no longer lists, marked lost at `now` unless it was lost already (the first time it went
 * missing is kept).
 */
export function withLostProfiles(
  listed: readonly AdsProfileDto[],
  stored: readonly AdsProfileDto[],
  now: Date,
): AdsProfileDto[] {
  const listedIds = new Set(listed.map((profile) => profile.profileId));
  const lost = stored
    .filter((profile) => !listedIds.has(profile.profileId))
    .map((profile) => ({
      ...profile,
      lostAt: profile.lostAt ?? now.toISOString(),
    }));
  return [
    ...listed.map((profile) => {
      const listedProfile = { ...profile };
      delete listedProfile.lostAt;
      return listedProfile;
    }),
    ...lost,
  ];
}

/** The listed profiles whose DSP advertisers are read: the agency ones. */
export function agencyProfiles(
  listed: readonly AdsProfileDto[],
): AdsProfileDto[] {
  return listed.filter(
    (profile) => profile.accountType === AGENCY_ACCOUNT_TYPE && !profile.lostAt,
  );
}

/**
 * The DSP advertisers to store: for each listed agency profile, in order, what Amazon listed
 * for it now, or (when that call failed: `undefined` in `read`) the advertisers stored for it
 * before. Advertisers of a profile that is no longer an agency profile or no longer listed go:
 * the connection cannot reach them.
 */
export function dspAdvertisersAfter(
  listed: readonly AdsProfileDto[],
  read: ReadonlyMap<string, readonly DspAdvertiserDto[] | undefined>,
  stored: readonly DspAdvertiserDto[],
): DspAdvertiserDto[] {
  return agencyProfiles(listed).flatMap(({ profileId }) => {
    const now = read.get(profileId);
    return now
      ? [...now]
      : stored.filter((advertiser) => advertiser.profileId === profileId);
  });
}
