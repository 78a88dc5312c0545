import { CONNECTION_STATUSES } from '@keeper/contracts';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import {
  dueAtMs,
  dueSql,
  INTERVAL_PASSED_SQL,
  intervalPassed,
  isLive,
  LIVE_SQL,
  MIN_REFRESH_INTERVAL_SECONDS,
  servableAsIs,
} from './connection-rules';

/** Each rule is written twice (SQL for the claims, TypeScript for the fast path): they must agree. */
describe('connection rules in SQL and TypeScript', () => {
  let database: TestDatabase;
  const now = Date.now();
  const at = (secondsFromNow: number | null) =>
    secondsFromNow === null ? null : new Date(now + secondsFromNow * 1000);

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  // [expires in s, last refreshed s from now, window s, due, interval passed]
  const cases: [number | null, number | null, number, boolean, boolean][] = [
    [3000, -600, 300, false, true], // a normal token, not due
    [290, -3310, 300, true, true], // a normal token, due
    [200, null, 300, true, true], // never refreshed by us: the window as configured
    [150, -50, 300, false, false], // a 200 s token, 150 s left: not due (due at half its life)
    [95, -105, 300, true, true], // a 200 s token, 95 s left: due
    [2000, -1000, 1800, false, true], // a 3000 s token, window 1800: due at 1500 s left, not yet
    [1400, -1600, 1800, true, true], // ... due
    [-5, -3605, 300, true, true], // expired
    [20, -30, 300, true, false], // a 50 s token refreshed 30 s ago: due, but within the minimum interval
    [null, -600, 300, false, true], // no expiry stored (no token): nothing to keep alive
  ];

  it.each(cases)(
    'agrees in SQL and TypeScript, and with the rule: expires in %p s, refreshed %p s ago, window %p s: due %p, interval passed %p',
    async (expiresIn, refreshed, window, due, passed) => {
      const row = { expiresAt: at(expiresIn), lastRefreshedAt: at(refreshed) };
      const [sql] = await database.query<{ due: boolean; passed: boolean }>(
        `SELECT ${dueSql('$1')} AS due, ${INTERVAL_PASSED_SQL} AS passed
       FROM (SELECT $2::timestamptz AS access_token_expires_at, $3::timestamptz AS last_refreshed_at) AS connections`,
        [window, row.expiresAt, row.lastRefreshedAt],
      );
      // The database's now() is a few milliseconds after `now`.
      const checkedAt = Date.now();

      expect({ due: sql.due ?? false, passed: sql.passed }).toEqual({
        due: dueAtMs(row, window) <= checkedAt,
        passed: intervalPassed(row, checkedAt),
      });
      expect({ due: sql.due ?? false, passed: sql.passed }).toEqual({
        due,
        passed,
      });
    },
  );

  it('serves a token as it is while it is not due, or was refreshed within the minimum interval and is still valid', () => {
    const recently = at(-(MIN_REFRESH_INTERVAL_SECONDS - 10));
    expect(
      servableAsIs(
        { expiresAt: at(3000), lastRefreshedAt: at(-600) },
        300,
        now,
      ),
    ).toBe(true);
    expect(
      servableAsIs({ expiresAt: at(60), lastRefreshedAt: at(-3540) }, 300, now),
    ).toBe(false);
    expect(
      servableAsIs({ expiresAt: at(60), lastRefreshedAt: recently }, 300, now),
    ).toBe(true);
    expect(
      servableAsIs({ expiresAt: at(-1), lastRefreshedAt: recently }, 300, now),
    ).toBe(false);
    expect(
      servableAsIs({ expiresAt: null, lastRefreshedAt: null }, 300, now),
    ).toBe(false);
  });

  it.each(CONNECTION_STATUSES.map((status) => [status]))(
    'agrees in SQL and TypeScript on whether a %s connection is live',
    async (status) => {
      const [sql] = await database.query<{ live: boolean }>(
        `SELECT ${LIVE_SQL} AS live FROM (SELECT $1::text AS status) AS connections`,
        [status],
      );
      expect(sql.live).toBe(isLive(status));
      expect(sql.live).toBe(status === 'active' || status === 'degraded');
    },
  );
});
