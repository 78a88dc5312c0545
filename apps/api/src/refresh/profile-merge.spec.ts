import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import {
  agencyProfiles,
  dspAdvertisersAfter,
  withLostProfiles,
} from './profile-merge';

const profile = (
  profileId: string,
  accountType = 'seller',
  extra: Partial<AdsProfileDto> = {},
): AdsProfileDto => ({
  profileId,
  countryCode: 'US',
  currencyCode: 'USD',
  timezone: 'America/Los_Angeles',
  marketplaceStringId: 'ATVPDKIKX0DER',
  accountId: `ACCOUNT${profileId}`,
  accountName: `Account ${profileId}`,
  accountType,
  ...extra,
});

const advertiser = (
  advertiserId: string,
  profileId: string,
): DspAdvertiserDto => ({
  advertiserId,
  name: `Advertiser ${advertiserId}`,
  countryCode: 'US',
  currency: 'USD',
  timezone: 'America/New_York',
  profileId,
});

const NOW = new Date('2026-03-01T12:00:00.000Z');
const EARLIER = '2026-02-20T08:00:00.000Z';

describe(withLostProfiles.name, () => {
  it('keeps the listed profiles as Amazon sent them and marks the missing ones lost now', () => {
    const result = withLostProfiles(
      [profile('1'), profile('3')],
      [profile('1'), profile('2'), profile('3')],
      NOW,
    );

    expect(result).toEqual([
      profile('1'),
      profile('3'),
      { ...profile('2'), lostAt: NOW.toISOString() },
    ]);
  });

  it('keeps the time a profile was first found missing', () => {
    const result = withLostProfiles(
      [profile('1')],
      [profile('1'), profile('2', 'seller', { lostAt: EARLIER })],
      NOW,
    );

    expect(result[1].lostAt).toBe(EARLIER);
  });

  it('clears lostAt when Amazon lists the profile again', () => {
    const result = withLostProfiles(
      [profile('2', 'seller', { countryCode: 'CA' })],
      [profile('2', 'seller', { lostAt: EARLIER })],
      NOW,
    );

    expect(result).toEqual([profile('2', 'seller', { countryCode: 'CA' })]);
    expect('lostAt' in result[0]).toBe(false);
  });

  it('stores exactly what Amazon lists when nothing was stored before', () => {
    expect(withLostProfiles([profile('1')], [], NOW)).toEqual([profile('1')]);
  });
});

describe(dspAdvertisersAfter.name, () => {
  const listed = [profile('1', 'agency'), profile('2'), profile('3', 'agency')];

  it("lists each agency profile's advertisers as read now, in profile order", () => {
    const result = dspAdvertisersAfter(
      listed,
      new Map([
        ['3', [advertiser('c', '3')]],
        ['1', [advertiser('a', '1'), advertiser('b', '1')]],
      ]),
      [advertiser('old', '1')],
    );

    expect(result.map((each) => each.advertiserId)).toEqual(['a', 'b', 'c']);
  });

  it("keeps a profile's previous advertisers when its call failed, and only that profile's", () => {
    const result = dspAdvertisersAfter(
      listed,
      new Map([
        ['1', undefined],
        ['3', []],
      ]),
      [advertiser('kept', '1'), advertiser('gone', '3')],
    );

    expect(result.map((each) => each.advertiserId)).toEqual(['kept']);
  });

  it('drops the advertisers of a profile no longer listed or no longer an agency', () => {
    const result = dspAdvertisersAfter(
      [profile('1'), profile('3', 'agency')],
      new Map([['3', undefined]]),
      [advertiser('x', '1'), advertiser('y', '9'), advertiser('z', '3')],
    );

    expect(result.map((each) => each.advertiserId)).toEqual(['z']);
  });

  it('reads DSP advertisers only for listed agency profiles', () => {
    expect(
      agencyProfiles([
        profile('1', 'agency'),
        profile('2', 'vendor'),
        profile('3', 'agency', { lostAt: EARLIER }),
      ]).map((each) => each.profileId),
    ).toEqual(['1']);
  });
});
