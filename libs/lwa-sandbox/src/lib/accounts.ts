import { createHash } from 'node:crypto';

export type AccountType = 'seller' | 'vendor' | 'agency';
export type CountryCode =
  | 'US'
  | 'CA'
  | 'MX'
  | 'UK'
  | 'DE'
  | 'FR'
  | 'JP'
  | 'AU'
  | 'SG';

/** A sandbox Amazon account that can consent; its profiles follow from it alone. */
export interface SandboxAccount {
  /** Seller ids look like `A1…`, vendor and agency entity ids like `ENTITY…`. */
  id: string;
  name: string;
  type: AccountType;
  /** The marketplaces it advertises in, one profile each. */
  countries: readonly CountryCode[];
}

/** The shape of one element of Amazon's `GET /v2/profiles` answer. */
export interface AdsProfile {
  profileId: number;
  countryCode: CountryCode;
  currencyCode: string;
  dailyBudget: number;
  timezone: string;
  accountInfo: {
    marketplaceStringId: string;
    id: string;
    type: AccountType;
    name: string;
    validPaymentMethod: boolean;
  };
}

interface Marketplace {
  marketplaceStringId: string;
  currencyCode: string;
  timezone: string;
}

// Amazon's marketplace ids and the time zones the Ads API reports for them.
const MARKETPLACES: Readonly<Record<CountryCode, Marketplace>> = {
  US: {
    marketplaceStringId: 'ATVPDKIKX0DER',
    currencyCode: 'USD',
    timezone: 'America/Los_Angeles',
  },
  CA: {
    marketplaceStringId: 'A2EUQ1WTGCTBG2',
    currencyCode: 'CAD',
    timezone: 'America/Los_Angeles',
  },
  MX: {
    marketplaceStringId: 'A1AM78C64UM0Y8',
    currencyCode: 'MXN',
    timezone: 'America/Los_Angeles',
  },
  UK: {
    marketplaceStringId: 'A1F83G8C2ARO7P',
    currencyCode: 'GBP',
    timezone: 'Europe/London',
  },
  DE: {
    marketplaceStringId: 'A1PA6795UKMFR9',
    currencyCode: 'EUR',
    timezone: 'Europe/Paris',
  },
  FR: {
    marketplaceStringId: 'A13V1IB3VIYZZH',
    currencyCode: 'EUR',
    timezone: 'Europe/Paris',
  },
  JP: {
    marketplaceStringId: 'A1VC38T7YXB528',
    currencyCode: 'JPY',
    timezone: 'Asia/Tokyo',
  },
  AU: {
    marketplaceStringId: 'A39IBJ37TRP1C6',
    currencyCode: 'AUD',
    timezone: 'Australia/Sydney',
  },
  SG: {
    marketplaceStringId: 'A19VAU5U5O7RUS',
    currencyCode: 'SGD',
    timezone: 'Asia/Singapore',
  },
};

/** The accounts the consent page offers; the first is the default. */
export const SAMPLE_ACCOUNTS: readonly SandboxAccount[] = [
  {
    id: 'A1SANDBOXACME01',
    name: 'Acme Outdoor (sample advertiser)',
    type: 'seller',
    countries: ['US', 'CA', 'MX'],
  },
  {
    id: 'ENTITY2SANDBOXBRIGHTWAVE',
    name: 'Brightwave Appliances GmbH',
    type: 'vendor',
    countries: ['UK', 'DE', 'FR'],
  },
  {
    id: 'A3SANDBOXSAKURA',
    name: 'Sakura Home KK',
    type: 'seller',
    countries: ['JP', 'AU', 'SG'],
  },
  {
    id: 'ENTITY1SANDBOXNORTHWIND',
    name: 'Northwind Media (agency)',
    type: 'agency',
    countries: ['US', 'UK', 'JP'],
  },
];

export const DEFAULT_ACCOUNT: SandboxAccount =
  SAMPLE_ACCOUNTS[0] as SandboxAccount;

const ACCOUNT_ID_PATTERN = /^(A[0-9A-Z]{9,31}|ENTITY[0-9A-Z]{6,40})$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function idFromName(name: string): string {
  const digest = sha256(`account:${name}`);
  let id = 'A';
  for (let i = 0; i < 13; i++)
    id += CROCKFORD[(digest[i] ?? 0) % CROCKFORD.length];
  return id;
}

/**
 * The account for what someone picked or typed on the consent page: a sample account by id or
 * name, an id that looks like Amazon's, or any other name (an id is derived from it).
 * The same input (spaces collapsed) always gives the same account. Accounts not in the samples advertise in one
 * marketplace per region (US, UK, JP). Answers undefined for empty or unprintable input.
 */
export function resolveAccount(input: string): SandboxAccount | undefined {
  const text = input.trim().replace(/\s+/g, ' ');
  if (text === '' || text.length > 100 || /[\p{Cc}\p{Cf}]/u.test(text))
    return undefined;
  const sample = SAMPLE_ACCOUNTS.find(
    (account) =>
      account.id === text || account.name.toLowerCase() === text.toLowerCase(),
  );
  if (sample) return sample;
  if (ACCOUNT_ID_PATTERN.test(text)) {
    return {
      id: text,
      name: `Sandbox account ${text}`,
      type: text.startsWith('ENTITY') ? 'vendor' : 'seller',
      countries: ['US', 'UK', 'JP'],
    };
  }
  return {
    id: idFromName(text),
    name: text,
    type: 'seller',
    countries: ['US', 'UK', 'JP'],
  };
}

const MIN_PROFILE_ID = 1_000_000_000_000_000n;
const PROFILE_ID_SPAN = 8_000_000_000_000_000n; // keeps every id below 2^53

function profileId(accountId: string, country: CountryCode): number {
  const digest = sha256(`profile:${accountId}:${country}`);
  return Number(MIN_PROFILE_ID + (digest.readBigUInt64BE(0) % PROFILE_ID_SPAN));
}

/** The Ads profiles of an account, deterministic: same account, same profiles. */
export function profilesFor(account: SandboxAccount): AdsProfile[] {
  return account.countries.map((countryCode, index) => {
    const marketplace = MARKETPLACES[countryCode];
    return {
      profileId: profileId(account.id, countryCode),
      countryCode,
      currencyCode: marketplace.currencyCode,
      dailyBudget: 999999999,
      timezone: marketplace.timezone,
      accountInfo: {
        marketplaceStringId: marketplace.marketplaceStringId,
        id: account.id,
        type: account.type,
        name: account.name,
        // The third marketplace of a sample account lacks a payment method, so the console can show one.
        validPaymentMethod: !(index === 2 && SAMPLE_ACCOUNTS.includes(account)),
      },
    };
  });
}

/** One element of `response` in Amazon DSP's `GET /dsp/advertisers` answer. */
export interface DspAdvertiser {
  advertiserId: string;
  name: string;
  currency: string;
  url: string;
  country: string;
  timezone: string;
}

const DSP_BRANDS = ['Trailhead Coffee', 'Lumen Lighting'] as const;

/**
 * The DSP advertisers an agency profile manages, deterministic like the profiles: two per
 * agency profile, in its marketplace; none for sellers and vendors.
 */
export function dspAdvertisersFor(profile: AdsProfile): DspAdvertiser[] {
  if (profile.accountInfo.type !== 'agency') return [];
  return DSP_BRANDS.map((brand) => {
    const digest = sha256(`dsp:${profile.profileId}:${brand}`);
    // DSP advertiser ids are numeric strings of about 13 digits.
    const advertiserId = String(
      1_000_000_000_000n + (digest.readBigUInt64BE(0) % 8_999_999_999_999n),
    );
    const slug = brand.toLowerCase().replace(/\s+/g, '-');
    return {
      advertiserId,
      name: `${brand} (${profile.countryCode})`,
      currency: profile.currencyCode,
      url: `https://www.${slug}.example`,
      country: profile.countryCode,
      timezone: profile.timezone,
    };
  });
}
