/** Amazon Advertising regions; each has its own consent page, token endpoint and Ads API. */
export const REGIONS = ['na', 'eu', 'fe'] as const;
export type Region = (typeof REGIONS)[number];

export const REGION_NAMES: Readonly<Record<Region, string>> = {
  na: 'North America',
  eu: 'Europe',
  fe: 'Far East',
};

/**
 * - `active`: the access token is valid and refreshes succeed.
 * - `degraded`: recent refreshes failed for a transient reason; the service keeps retrying.
 * - `needs_reauth`: Amazon answered `invalid_grant`; only a new consent helps.
 * - `disconnected`: an admin disconnected it; its secrets are erased.
 */
export const CONNECTION_STATUSES = [
  'active',
  'degraded',
  'needs_reauth',
  'disconnected',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** One Amazon Ads profile (an advertiser in one marketplace) reachable with a connection. */
export interface AdsProfileDto {
  profileId: string;
  countryCode: string;
  currencyCode: string;
  timezone: string;
  marketplaceStringId: string;
  accountId: string;
  accountName: string;
  accountType: string;
  /**
   * Set when Amazon stopped listing this profile at a later read (ISO 8601): the connection can
   * no longer reach it. Not a reason to reconnect; absent while the profile is listed.
   */
  lostAt?: string;
}

/**
 * One Amazon DSP advertiser an agency profile manages (`GET /dsp/advertisers` with that profile
 * as the scope), listed with the connection.
 */
export interface DspAdvertiserDto {
  advertiserId: string;
  name: string;
  countryCode: string;
  currency: string;
  timezone: string;
  /** The agency profile it was listed under: the `Amazon-Advertising-API-Scope` to use. */
  profileId: string;
}

/** What the API tells about a connection. Never carries a token. Times are ISO 8601 UTC. */
export interface ConnectionDto {
  id: string;
  label: string;
  region: Region;
  status: ConnectionStatus;
  accessTokenExpiresAt: string | null;
  lastRefreshedAt: string | null;
  nextRefreshAt: string | null;
  failureCount: number;
  lastError: string | null;
  profiles: AdsProfileDto[];
  /** DSP advertisers of the connection's agency profiles; empty when it has none. */
  dspAdvertisers: DspAdvertiserDto[];
  /** When the profiles (and DSP advertisers) were last read from Amazon; null: not yet. */
  profilesReadAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Orders of `GET /connections?sort=`: `expiry` (the access token's expiry, soonest first;
 * connections without a token last), `label` (case-insensitive), `status` (in the order of
 * CONNECTION_STATUSES), `created` (oldest first, the default). A leading `-` reverses it.
 * Ties are broken by id, so pages never skip or repeat a row.
 */
export const CONNECTION_SORT_KEYS = [
  'created',
  'expiry',
  'label',
  'status',
] as const;
export type ConnectionSortKey = (typeof CONNECTION_SORT_KEYS)[number];
export type ConnectionSort = ConnectionSortKey | `-${ConnectionSortKey}`;

/** Rows per page of `GET /connections`: `limit` defaults to the first, at most the second. */
export const CONNECTION_PAGE_LIMITS = { default: 50, max: 200 } as const;

/** Connections by status over the whole set (every filter ignored). */
export type ConnectionCountsDto = Record<ConnectionStatus, number> & {
  total: number;
};

/**
 * `GET /connections?status&region&q&sort&cursor&limit`: one page. `status` and `region` may be
 * repeated (any of them); `q` matches label, Amazon account id, profile id and profile name
 * (case-insensitive, anywhere in the text). Pass `nextCursor` as `cursor` (with the same
 * filters and sort) for the next page; null on the last one.
 */
export interface ConnectionPageDto {
  items: ConnectionDto[];
  nextCursor: string | null;
  counts: ConnectionCountsDto;
}

export interface UpdateConnectionRequest {
  label: string;
}

/** `GET /connections/:id/access-token`, for downstream jobs holding a service key. */
export interface AccessTokenDto {
  accessToken: string;
  tokenType: 'bearer';
  expiresAt: string;
}

/** `POST /connections/:id/refresh`: the connection after a successful refresh. */
export interface RefreshResultDto {
  connection: ConnectionDto;
  durationMs: number;
}
