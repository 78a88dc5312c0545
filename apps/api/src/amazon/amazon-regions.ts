import { REGIONS, type Region } from '@keeper/contracts';

/** Where one Amazon Advertising region sends consent, token and Ads API requests. */
export interface AmazonEndpoints {
  /** Login with Amazon consent page (`/ap/oa`). */
  consentUrl: string;
  /** Login with Amazon token endpoint (`/auth/o2/token`). */
  tokenUrl: string;
  /** Amazon Ads API base URL, without a trailing slash. */
  adsApiUrl: string;
}

/** The configured URLs that replace Amazon's for every region (sandbox, tests, proxies). */
export interface AmazonUrlOverrides {
  authorizeUrlOverride?: string | undefined;
  tokenUrlOverride?: string | undefined;
  adsApiUrlOverride?: string | undefined;
}

/** Amazon's own endpoints per region (Amazon's LWA and Ads API documentation). */
export const AMAZON_ENDPOINTS: Readonly<
  Record<Region, Readonly<AmazonEndpoints>>
> = {
  na: {
    consentUrl: 'https://www.amazon.com/ap/oa',
    tokenUrl: 'https://api.amazon.com/auth/o2/token',
    adsApiUrl: 'https://advertising-api.amazon.com',
  },
  eu: {
    consentUrl: 'https://eu.account.amazon.com/ap/oa',
    tokenUrl: 'https://api.amazon.co.uk/auth/o2/token',
    adsApiUrl: 'https://advertising-api-eu.amazon.com',
  },
  fe: {
    consentUrl: 'https://apac.account.amazon.com/ap/oa',
    tokenUrl: 'https://api.amazon.co.jp/auth/o2/token',
    adsApiUrl: 'https://advertising-api-fe.amazon.com',
  },
};

export function isRegion(value: unknown): value is Region {
  return (
    typeof value === 'string' && (REGIONS as readonly string[]).includes(value)
  );
}

/**
 * The URLs to use for `region`: Amazon's, except where an override is configured; an override
 * applies to every region alike.
 */
export function amazonEndpointsFor(
  region: Region,
  overrides: AmazonUrlOverrides = {},
): AmazonEndpoints {
  // Region comes from typed callers, but a stored row or a query string could still carry junk.
  if (!isRegion(region))
    throw new Error(`Unknown Amazon region "${String(region).slice(0, 16)}"`);
  const defaults = AMAZON_ENDPOINTS[region];
  return {
    consentUrl: overrides.authorizeUrlOverride ?? defaults.consentUrl,
    tokenUrl: overrides.tokenUrlOverride ?? defaults.tokenUrl,
    adsApiUrl: (overrides.adsApiUrlOverride ?? defaults.adsApiUrl).replace(
      /\/+$/,
      '',
    ),
  };
}
