import type { ConnectionDto } from '@keeper/contracts';

/** A connection as the API shows it, for the OpenAPI examples. */
export const CONNECTION_EXAMPLE: ConnectionDto = {
  id: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
  label: 'Acme Outdoor (NA)',
  region: 'na',
  status: 'active',
  accessTokenExpiresAt: '2026-11-24T15:00:00.000Z',
  lastRefreshedAt: '2026-11-24T14:00:00.000Z',
  nextRefreshAt: '2026-11-24T14:55:00.000Z',
  failureCount: 0,
  lastError: null,
  profiles: [
    {
      profileId: '3421895712345678',
      countryCode: 'US',
      currencyCode: 'USD',
      timezone: 'America/Los_Angeles',
      marketplaceStringId: 'ATVPDKIKX0DER',
      accountId: 'A2EXAMPLE1234',
      accountName: 'Acme Outdoor',
      accountType: 'seller',
    },
  ],
  dspAdvertisers: [],
  profilesReadAt: '2026-11-24T14:00:00.000Z',
  createdAt: '2026-11-20T09:30:00.000Z',
  updatedAt: '2026-11-24T14:00:00.000Z',
};
