import type { AdsProfileDto } from '@keeper/contracts';
import {
  accountIdsOf,
  MIN_REFRESH_INTERVAL_SECONDS,
  nextRefreshAtMs,
  refreshableNow,
} from './connection-rules';

describe('connection rules', () => {
  const now = Date.UTC(2030, 0, 1, 12);
  const at = (seconds: number) => new Date(now + seconds * 1000);

  describe(nextRefreshAtMs.name, () => {
    const live = {
      status: 'active',
      expiresAt: at(3600),
      lastRefreshedAt: at(0),
      nextAttemptAt: null,
    };

    it('is when the token becomes due: the window before its expiry', () => {
      expect(nextRefreshAtMs(live, 300)).toBe(at(3300).getTime());
    });

    it('follows the short-token rule: half the life of a token no longer than twice the window', () => {
      expect(nextRefreshAtMs({ ...live, expiresAt: at(200) }, 300)).toBe(
        at(100).getTime(),
      );
    });

    it('is never within the minimum interval of the last refresh', () => {
      expect(nextRefreshAtMs({ ...live, expiresAt: at(50) }, 300)).toBe(
        at(MIN_REFRESH_INTERVAL_SECONDS).getTime(),
      );
    });

    it('waits for a scheduled retry that comes later', () => {
      expect(
        nextRefreshAtMs(
          { ...live, status: 'degraded', nextAttemptAt: at(3500) },
          300,
        ),
      ).toBe(at(3500).getTime());
    });

    it('is none for a connection that is not live or holds no token', () => {
      expect(
        nextRefreshAtMs({ ...live, status: 'needs_reauth' }, 300),
      ).toBeUndefined();
      expect(
        nextRefreshAtMs({ ...live, status: 'disconnected' }, 300),
      ).toBeUndefined();
      expect(
        nextRefreshAtMs({ ...live, expiresAt: null }, 300),
      ).toBeUndefined();
    });

    it('is the moment the claim starts to take the row', () => {
      const row = { ...live, expiresAt: at(200) };
      const next = nextRefreshAtMs(row, 300) as number;
      expect(refreshableNow(row, 300, next - 1)).toBe(false);
      expect(refreshableNow(row, 300, next)).toBe(true);
    });
  });

  describe(accountIdsOf.name, () => {
    const profile = (accountId: string): AdsProfileDto => ({
      profileId: `p-${accountId}`,
      countryCode: 'US',
      currencyCode: 'USD',
      timezone: 'America/Los_Angeles',
      marketplaceStringId: 'ATVPDKIKX0DER',
      accountId,
      accountName: 'Acme',
      accountType: 'seller',
    });

    it('is the distinct account ids of the profiles, sorted', () => {
      expect(
        accountIdsOf([profile('B2'), profile('A1'), profile('B2')]),
      ).toEqual(['A1', 'B2']);
      expect(accountIdsOf([])).toEqual([]);
    });
  });
});
