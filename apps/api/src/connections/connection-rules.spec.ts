import type { AdsProfileDto } from '@keeper/contracts';
import {
  accountIdsOf,
  dueAtMs,
  MIN_REFRESH_INTERVAL_SECONDS,
  nextRefreshAtMs,
  refreshableNow,
  refreshPhase,
  SPREAD_MIN_SPAN_SECONDS,
  SPREAD_SETTLE_SECONDS,
} from './connection-rules';

/** A lowercase UUID-shaped id made from `n`, so tests get as many distinct ids as they need. */
function idOf(n: number): string {
  const hex = n.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('connection rules', () => {
  const now = Date.UTC(2030, 0, 1, 12);
  const at = (seconds: number) => new Date(now + seconds * 1000);

  describe(nextRefreshAtMs.name, () => {
    const live = {
      id: idOf(1),
      status: 'active',
      expiresAt: at(3600),
      lastRefreshedAt: at(0),
      nextAttemptAt: null,
    };

    it('is when the token becomes due: at its slot in the span, never later than the window before its expiry', () => {
      const span = 3000;
      for (let n = 0; n < 500; n++) {
        const row = { ...live, id: idOf(n) };
        const next = nextRefreshAtMs(row, 300) as number;
        expect(next).toBeLessThanOrEqual(at(3600 - 300).getTime());
        // Never within the settling time of the last refresh.
        expect(next).toBeGreaterThan(at(SPREAD_SETTLE_SECONDS).getTime());
        // The slot: phase × span + k × span, in Unix seconds.
        const slots =
          (dueAtMs(row, 300) / 1000 - refreshPhase(row.id) * span) / span;
        expect(Math.abs(slots - Math.round(slots))).toBeLessThan(1e-6);
      }
    });

    it('keeps a connection on its slot: refreshed late within the span, the next due moment is one span after the last', () => {
      const due = dueAtMs(live, 300);
      const late = new Date(due + 45_000);
      const after = {
        ...live,
        lastRefreshedAt: late,
        expiresAt: new Date(late.getTime() + 3_600_000),
      };
      expect(dueAtMs(after, 300)).toBeCloseTo(due + 3_000_000, 0);
    });

    it('spreads the due moments of connections made at the same moment evenly over the span', () => {
      // The span: from 5 minutes after the refresh to 5 minutes before expiry, 50 minutes.
      const perMinute = new Array<number>(50).fill(0);
      const count = 5000;
      for (let n = 0; n < count; n++) {
        const due = dueAtMs({ ...live, id: idOf(n) }, 300);
        perMinute[Math.ceil((due - at(300).getTime()) / 60_000) - 1] += 1;
      }
      const average = count / perMinute.length;
      expect(Math.max(...perMinute)).toBeLessThanOrEqual(average * 1.5);
      expect(Math.min(...perMinute)).toBeGreaterThanOrEqual(average * 0.5);
    });

    it('spreads ids given in sequence as well as random ones: the phase is a hash', () => {
      const phases = [0, 1, 2, 3].map((n) => refreshPhase(idOf(n)));
      expect(new Set(phases).size).toBe(4);
      for (const phase of phases) {
        expect(phase).toBeGreaterThanOrEqual(0);
        expect(phase).toBeLessThan(1);
      }
      expect(refreshPhase(idOf(7).toUpperCase())).toBe(refreshPhase(idOf(7)));
    });

    it(`does not spread a span shorter than ${SPREAD_MIN_SPAN_SECONDS} s, nor a token never refreshed by the keeper`, () => {
      // A 1200 s token with a 300 s window: a span of 600 s (after the 300 s settling time),
      // spread; a 1100 s token: 500 s, not.
      expect(nextRefreshAtMs({ ...live, expiresAt: at(1100) }, 300)).toBe(
        at(800).getTime(),
      );
      const spread = [0, 1, 2, 3, 4, 5].map((n) =>
        nextRefreshAtMs({ ...live, id: idOf(n), expiresAt: at(1200) }, 300),
      );
      expect(new Set(spread).size).toBe(6);
      expect(nextRefreshAtMs({ ...live, lastRefreshedAt: null }, 300)).toBe(
        at(3300).getTime(),
      );
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
      // (3500 s is after every slot of a token refreshed at 0.)
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
      for (const row of [
        { ...live, expiresAt: at(200) },
        { ...live, id: idOf(2) },
        { ...live, id: idOf(3) },
      ]) {
        const next = nextRefreshAtMs(row, 300) as number;
        expect(refreshableNow(row, 300, next - 1)).toBe(false);
        expect(refreshableNow(row, 300, next)).toBe(true);
      }
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
