import { REGIONS, Region } from '@keeper/contracts';
import { AMAZON_ENDPOINTS, amazonEndpointsFor } from './amazon-regions';

describe(amazonEndpointsFor.name, () => {
  it('knows the three regions’ consent, token and Ads API URLs', () => {
    expect(REGIONS.map((region) => amazonEndpointsFor(region))).toEqual([
      {
        consentUrl: 'https://www.amazon.com/ap/oa',
        tokenUrl: 'https://api.amazon.com/auth/o2/token',
        adsApiUrl: 'https://advertising-api.amazon.com',
      },
      {
        consentUrl: 'https://eu.account.amazon.com/ap/oa',
        tokenUrl: 'https://api.amazon.co.uk/auth/o2/token',
        adsApiUrl: 'https://advertising-api-eu.amazon.com',
      },
      {
        consentUrl: 'https://apac.account.amazon.com/ap/oa',
        tokenUrl: 'https://api.amazon.co.jp/auth/o2/token',
        adsApiUrl: 'https://advertising-api-fe.amazon.com',
      },
    ]);
  });

  it('applies each override to every region and leaves the others alone', () => {
    const overrides = {
      tokenUrlOverride: 'http://127.0.0.1:4010/auth/o2/token',
      adsApiUrlOverride: 'http://127.0.0.1:4010/',
    };

    for (const region of REGIONS) {
      expect(amazonEndpointsFor(region, overrides)).toEqual({
        consentUrl: AMAZON_ENDPOINTS[region].consentUrl,
        tokenUrl: 'http://127.0.0.1:4010/auth/o2/token',
        adsApiUrl: 'http://127.0.0.1:4010',
      });
    }
  });

  it('refuses a region it does not know', () => {
    expect(() => amazonEndpointsFor('us' as Region)).toThrow(
      'Unknown Amazon region "us"',
    );
  });
});
