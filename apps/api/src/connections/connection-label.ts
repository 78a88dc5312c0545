import type { AdsProfileDto, Region } from '@keeper/contracts';
import { REGION_NAMES } from '@keeper/contracts';

/**
 * The label a new connection gets (a consent's, an import's without one): its first profile's
 * account name, else the region's name.
 */
export function defaultConnectionLabel(
  region: Region,
  profiles: readonly AdsProfileDto[],
): string {
  const name = profiles.find((profile) => profile.accountName)?.accountName;
  return name
    ? `${name} (${region.toUpperCase()})`
    : `Amazon Ads account (${REGION_NAMES[region]})`;
}
