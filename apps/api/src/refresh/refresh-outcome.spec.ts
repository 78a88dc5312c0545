import {
  LwaInvalidGrantError,
  LwaRateLimitedError,
  LwaServerError,
} from '../amazon/lwa.errors';
import { changesAfterSuccess, outcomeOfFailure } from './refresh-outcome';

describe('what an attempt does to the connection', () => {
  const now = new Date(Date.UTC(2030, 0, 1, 12));
  const later = (ms: number) => new Date(now.getTime() + ms);

  describe(changesAfterSuccess.name, () => {
    it('stores the new tokens and expiry, and makes the row healthy and unleased', () => {
      expect(
        changesAfterSuccess(
          { refreshToken: 'Atzr|old' },
          {
            accessToken: 'Atza|new',
            refreshToken: 'Atzr|new',
            tokenType: 'bearer',
            expiresInSeconds: 3600,
          },
          now,
        ),
      ).toEqual({
        accessToken: 'Atza|new',
        refreshToken: 'Atzr|new',
        accessTokenExpiresAt: later(3_600_000),
        lastRefreshedAt: now,
        status: 'active',
        failureCount: 0,
        lastError: null,
        nextAttemptAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
      });
    });

    it('keeps the old refresh token when Amazon sends none', () => {
      expect(
        changesAfterSuccess(
          { refreshToken: 'Atzr|old' },
          {
            accessToken: 'Atza|new',
            refreshToken: undefined,
            tokenType: 'bearer',
            expiresInSeconds: 3600,
          },
          now,
        ).refreshToken,
      ).toBe('Atzr|old');
    });
  });

  describe(outcomeOfFailure.name, () => {
    it('marks invalid_grant as needing a new consent, with no retry scheduled', () => {
      const outcome = outcomeOfFailure(
        { failureCount: 0 },
        new LwaInvalidGrantError('refresh_token'),
        now,
      );
      expect(outcome.needsReauth).toBe(true);
      expect(outcome.changes).toMatchObject({
        status: 'needs_reauth',
        failureCount: 1,
        nextAttemptAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
      });
    });

    it('degrades on a transient failure and schedules the backoff (30 s, then doubling)', () => {
      const first = outcomeOfFailure(
        { failureCount: 0 },
        new LwaServerError(503),
        now,
      );
      expect(first.needsReauth).toBe(false);
      expect(first.changes).toMatchObject({
        status: 'degraded',
        failureCount: 1,
        nextAttemptAt: later(30_000),
        leaseExpiresAt: null,
      });
      expect(first.changes.lastError).toMatch(/HTTP 503/);
      expect(
        outcomeOfFailure({ failureCount: 3 }, new LwaServerError(500), now)
          .changes.nextAttemptAt,
      ).toEqual(later(4 * 60_000));
    });

    it("holds the row for Amazon's Retry-After, and never retries sooner", () => {
      const outcome = outcomeOfFailure(
        { failureCount: 0 },
        new LwaRateLimitedError(120_000),
        now,
      );
      expect(outcome.delayMs).toBe(120_000);
      expect(outcome.changes).toMatchObject({
        nextAttemptAt: later(120_000),
        // A lease nobody owns: no replica claims the row before then.
        leaseOwner: null,
        leaseExpiresAt: later(120_000),
      });
    });
  });
});
