import { CONNECTION_STATUSES } from '@keeper/contracts';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { REFRESH_PHASE_EXPRESSION } from '../database/migrations/1766000000010-refresh-phase';
import {
  dueAtMs,
  dueSql,
  INTERVAL_PASSED_SQL,
  intervalPassed,
  isLive,
  LIVE_SQL,
  MIN_REFRESH_INTERVAL_SECONDS,
  refreshPhase,
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

  /** A lowercase UUID-shaped id made from `n`. */
  const idOf = (n: number) => {
    const hex = n.toString(16).padStart(32, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  /**
   * An id whose slot in the spread (connection-rules.ts) puts the row's due moment `slotIn`
   * seconds from now (within 5 s), found by trying ids in turn; `null`: any id.
   */
  const idWithSlot = (
    row: { expiresAt: Date | null; lastRefreshedAt: Date | null },
    window: number,
    slotIn: number | null,
  ) => {
    if (slotIn === null) return idOf(1);
    for (let n = 1; n < 1_000_000; n++) {
      const id = idOf(n);
      const dueIn = (dueAtMs({ id, ...row }, window) - now) / 1000;
      if (Math.abs(dueIn - slotIn) <= 5) return id;
    }
    throw new Error(`no id puts the slot ${slotIn} s from now`);
  };

  // [expires in s, last refreshed s from now, window s, the id's slot s from now (null: any id), due, interval passed]
  const cases: [
    number | null,
    number | null,
    number,
    number | null,
    boolean,
    boolean,
  ][] = [
    [3000, -600, 300, 120, false, true], // a normal token, its slot 2 min ahead: not due
    [3000, -600, 300, -60, true, true], // a normal token, its slot passed a minute ago: due, early
    [290, -3310, 300, null, true, true], // a normal token in the window: due, whatever its slot
    [200, null, 300, null, true, true], // never refreshed by us: the window as configured
    [150, -50, 300, null, false, false], // a 200 s token, 150 s left: not due (due at half its life, not spread)
    [95, -105, 300, null, true, true], // a 200 s token, 95 s left: due
    [2000, -1000, 1800, 300, false, true], // a 3000 s token, window 1800: at most 1500 s left, its slot 5 min ahead
    [2000, -1000, 1800, -60, true, true], // ... its slot passed: due
    [1400, -1600, 1800, null, true, true], // ... 1400 s left: due, whatever its slot
    [-5, -3605, 300, null, true, true], // expired
    [20, -30, 300, null, true, false], // a 50 s token refreshed 30 s ago: due, but within the minimum interval
    [null, -600, 300, null, false, true], // no expiry stored (no token): nothing to keep alive
  ];

  it.each(cases)(
    'agrees in SQL and TypeScript, and with the rule: expires in %p s, refreshed %p s ago, window %p s, slot in %p s: due %p, interval passed %p',
    async (expiresIn, refreshed, window, slotIn, due, passed) => {
      const timing = {
        expiresAt: at(expiresIn),
        lastRefreshedAt: at(refreshed),
      };
      const row = { id: idWithSlot(timing, window, slotIn), ...timing };
      const [sql] = await database.query<{ due: boolean; passed: boolean }>(
        `SELECT ${dueSql('$1')} AS due, ${INTERVAL_PASSED_SQL} AS passed
       FROM (SELECT *, ${REFRESH_PHASE_EXPRESSION} AS refresh_phase
               FROM (SELECT $2::timestamptz AS access_token_expires_at, $3::timestamptz AS last_refreshed_at, $4::uuid AS id) AS row) AS connections`,
        [window, row.expiresAt, row.lastRefreshedAt, row.id],
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

  it('agrees in SQL and TypeScript for 2,000 ids, lifetimes, windows and last refreshes', async () => {
    // A fixed pseudo-random sequence (the test is the same every run).
    let seed = 17;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const windows = [30, 300, 900, 1800];
    const rows = Array.from({ length: 2000 }, (_, n) => {
      const life = [3600, 3600, 3600, 200, 900, 1200][n % 6];
      const refreshedAgo = Math.round(random() * life * 1000);
      const lastRefreshedAt = new Date(now - refreshedAgo);
      return {
        id: randomUUID(),
        lastRefreshedAt,
        expiresAt: new Date(lastRefreshedAt.getTime() + life * 1000),
        window: windows[n % windows.length],
      };
    });
    const sql = await database.query<{ id: string; due: boolean }>(
      `SELECT id, ${dueSql('window_seconds')} AS due
         FROM (SELECT *, ${REFRESH_PHASE_EXPRESSION} AS refresh_phase
                 FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int[])
                   AS row(id, access_token_expires_at, last_refreshed_at, window_seconds)) AS connections`,
      [
        rows.map((row) => row.id),
        rows.map((row) => row.expiresAt),
        rows.map((row) => row.lastRefreshedAt),
        rows.map((row) => row.window),
      ],
    );
    const checkedAt = Date.now();
    const dueInSql = new Map(sql.map((row) => [row.id, row.due]));
    let compared = 0;
    let dueCount = 0;
    for (const row of rows) {
      const dueAt = dueAtMs(row, row.window);
      // Rows that came due between `now` and the statement's now() may go either way.
      if (dueAt > now - 1000 && dueAt <= checkedAt + 1000) continue;
      compared += 1;
      if (dueAt <= checkedAt) dueCount += 1;
      expect({ id: row.id, due: dueInSql.get(row.id) }).toEqual({
        id: row.id,
        due: dueAt <= checkedAt,
      });
    }
    expect(compared).toBeGreaterThan(1990);
    // Both answers occur, so the comparison means something.
    expect(dueCount).toBeGreaterThan(200);
    expect(compared - dueCount).toBeGreaterThan(200);
  });

  it("stores each connection's phase as the TypeScript computes it (the RefreshPhase migration)", async () => {
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    ids.push('00000000-0000-0000-0000-000000000001');
    const rows = await database.query<{ id: string; phase: number }>(
      `SELECT id, ${REFRESH_PHASE_EXPRESSION} AS phase FROM unnest($1::uuid[]) AS row(id)`,
      [ids],
    );
    for (const row of rows)
      expect({ id: row.id, phase: row.phase }).toEqual({
        id: row.id,
        phase: refreshPhase(row.id),
      });
  });

  it('serves a token as it is while it is not due, or was refreshed within the minimum interval and is still valid', () => {
    const recently = at(-(MIN_REFRESH_INTERVAL_SECONDS - 10));
    const id = idOf(1);
    const fresh = { id, expiresAt: at(3000), lastRefreshedAt: at(-600) };
    expect(
      servableAsIs(fresh, 300, Math.min(now, dueAtMs(fresh, 300) - 1)),
    ).toBe(true);
    expect(
      servableAsIs(
        { id, expiresAt: at(60), lastRefreshedAt: at(-3540) },
        300,
        now,
      ),
    ).toBe(false);
    expect(
      servableAsIs(
        { id, expiresAt: at(60), lastRefreshedAt: recently },
        300,
        now,
      ),
    ).toBe(true);
    expect(
      servableAsIs(
        { id, expiresAt: at(-1), lastRefreshedAt: recently },
        300,
        now,
      ),
    ).toBe(false);
    expect(
      servableAsIs({ id, expiresAt: null, lastRefreshedAt: null }, 300, now),
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
