import {
  CONNECTION_STATUSES,
  type AuditEventDto,
  type ConnectionCountsDto,
  type ConnectionDto,
  type ConnectionPageDto,
  type SystemStatusDto,
} from '@keeper/contracts';

/** A connection as the API sends it: active, its token valid for another half hour. */
export function aConnection(
  overrides: Partial<ConnectionDto> = {},
): ConnectionDto {
  const now = Date.now();
  return {
    id: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
    label: 'Acme Outdoor (NA)',
    region: 'na',
    status: 'active',
    accessTokenExpiresAt: new Date(now + 30 * 60_000).toISOString(),
    lastRefreshedAt: new Date(now - 30 * 60_000).toISOString(),
    nextRefreshAt: new Date(now + 25 * 60_000).toISOString(),
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
      {
        profileId: '3421895712349999',
        countryCode: 'CA',
        currencyCode: 'CAD',
        timezone: 'America/Los_Angeles',
        marketplaceStringId: 'A2EUQ1WTGCTBG2',
        accountId: 'A2EXAMPLE1234',
        accountName: 'Acme Outdoor Canada',
        accountType: 'vendor',
      },
    ],
    dspAdvertisers: [],
    profilesReadAt: new Date(now - 30 * 60_000).toISOString(),
    createdAt: '2026-11-20T09:30:00.000Z',
    updatedAt: new Date(now - 30 * 60_000).toISOString(),
    ...overrides,
  };
}

export function anAuditEvent(
  overrides: Partial<AuditEventDto> = {},
): AuditEventDto {
  return {
    id: '1043',
    connectionId: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
    type: 'refreshed',
    actor: 'scheduler',
    correlationId: 'req-c0f3',
    details: { durationMs: 212, refreshTokenRotated: false },
    createdAt: new Date(Date.now() - 3 * 60_000).toISOString(),
    ...overrides,
  };
}

export function aSystemStatus(
  overrides: Partial<SystemStatusDto> = {},
): SystemStatusDto {
  return {
    usingSandbox: true,
    refreshWindowSeconds: 300,
    refreshCron: '0 * * * * *',
    schedulerLastTickAt: new Date(Date.now() - 20_000).toISOString(),
    refreshPausedReason: null,
    keys: [
      { keyId: 'k-3f9a', primary: true, configured: true, rows: 12 },
      { keyId: 'k-77c1', primary: false, configured: true, rows: 3 },
    ],
    checks: [
      { name: 'database', status: 'up', message: null },
      { name: 'migrations', status: 'up', message: null },
      { name: 'keys', status: 'up', message: null },
      {
        name: 'scheduler',
        status: 'down',
        message: 'The refresh scheduler has not ticked for 190 s.',
      },
      { name: 'amazon', status: 'up', message: null },
    ],
    ...overrides,
  };
}

/** Counts by status of `connections`, as the API counts the whole set. */
export function countsOf(
  connections: readonly ConnectionDto[],
): ConnectionCountsDto {
  const counts = { total: connections.length } as ConnectionCountsDto;
  for (const status of CONNECTION_STATUSES) {
    counts[status] = connections.filter((c) => c.status === status).length;
  }
  return counts;
}

/** A page of `GET /connections`: the last one unless `nextCursor` is given. */
export function aConnectionPage(
  items: ConnectionDto[],
  overrides: Partial<ConnectionPageDto> = {},
): ConnectionPageDto {
  return { items, nextCursor: null, counts: countsOf(items), ...overrides };
}
