import { Component, signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import { aConnection } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  textOf,
} from '../../testing/render-console';
import { ProfileList } from './profile-list';

const [us, ca] = aConnection().profiles;
const agency: AdsProfileDto = {
  profileId: '4000000000000001',
  countryCode: 'GB',
  currencyCode: 'GBP',
  timezone: 'Europe/London',
  marketplaceStringId: 'A1F83G8C2ARO7P',
  accountId: 'ENTITY2AGENCY',
  accountName: 'Northwind Agency',
  accountType: 'agency',
};
const advertiser = (
  overrides: Partial<DspAdvertiserDto> = {},
): DspAdvertiserDto => ({
  advertiserId: '5830000000001',
  name: 'Contoso Retail',
  countryCode: 'GB',
  currency: 'GBP',
  timezone: 'Europe/London',
  profileId: agency.profileId,
  ...overrides,
});

@Component({
  imports: [ProfileList],
  template: `<atk-profile-list
    [profiles]="profiles()"
    [dspAdvertisers]="advertisers()"
  />`,
})
class Host {
  readonly profiles = signal<AdsProfileDto[]>([us, ca]);
  readonly advertisers = signal<DspAdvertiserDto[]>([]);
}

describe(ProfileList.name, () => {
  function render(
    profiles: AdsProfileDto[],
    advertisers: DspAdvertiserDto[] = [],
  ): HTMLElement {
    const fixture = TestBed.createComponent(Host);
    fixture.componentInstance.profiles.set(profiles);
    fixture.componentInstance.advertisers.set(advertisers);
    fixture.detectChanges();
    return fixture.nativeElement as HTMLElement;
  }

  it('lists each profile with its country, account, type and profile id', () => {
    const element = render([us, ca]);

    expect(readableTexts(element, '.profile-list li')).toEqual([
      'Country US Acme Outdoor Seller Profile id 3421895712345678',
      'Country CA Acme Outdoor Canada Vendor Profile id 3421895712349999',
    ]);
    expect(
      element.querySelector('.profile-list')?.getAttribute('aria-label'),
    ).toBe('Advertising profiles');
    expect(element.querySelector('.lost-marker')).toBeNull();
    expect(element.querySelector('.lost-meaning')).toBeNull();
  });

  it('marks a profile Amazon stopped listing as lost, in words, with the day', () => {
    const element = render([us, { ...ca, lostAt: '2026-11-22T03:00:00.000Z' }]);

    const [listed, lost] = Array.from(
      element.querySelectorAll<HTMLElement>('.profile-list li'),
    );
    expect(listed.querySelector('.lost-marker')).toBeNull();
    expect(listed.classList).not.toContain('lost');
    expect(lost.classList).toContain('lost');
    expect(readableText(lost, '.lost-marker')).toBe('Lost since 22 Nov 2026');
    expect(
      lost.querySelector('.lost-marker time')?.getAttribute('datetime'),
    ).toBe('2026-11-22T03:00:00.000Z');
    expect(textOf(element, '.lost-meaning')).toBe(
      'Amazon no longer lists the profile marked lost: calls with it as the scope are refused. The connection itself is fine.',
    );
  });

  it('lists no DSP advertisers, not even a heading, for a connection without any', () => {
    const element = render([us, ca]);

    expect(element.querySelector('.dsp-heading')).toBeNull();
    expect(element.querySelector('.dsp-list')).toBeNull();
  });

  it('lists the DSP advertisers with their country, id and the profile they are under', () => {
    const element = render(
      [us, agency],
      [
        advertiser(),
        advertiser({
          advertiserId: '5830000000002',
          name: 'Fabrikam',
          countryCode: 'DE',
        }),
        // Listed under a profile the connection no longer has: its id is all there is.
        advertiser({
          advertiserId: '5830000000003',
          name: 'Tailspin',
          profileId: '4000000000000009',
        }),
      ],
    );

    const heading = element.querySelector('.dsp-heading');
    expect(heading?.textContent?.trim()).toBe('DSP advertisers');
    expect(
      element.querySelector('.dsp-list')?.getAttribute('aria-labelledby'),
    ).toBe(heading?.id);
    expect(readableTexts(element, '.dsp-list li')).toEqual([
      'Country GB Contoso Retail Advertiser id 5830000000001 under profile 4000000000000001 (Northwind Agency)',
      'Country DE Fabrikam Advertiser id 5830000000002 under profile 4000000000000001 (Northwind Agency)',
      'Country GB Tailspin Advertiser id 5830000000003 under profile 4000000000000009',
    ]);
  });
});
