import { createHash } from 'node:crypto';
import {
  MIN_REFRESH_INTERVAL_SECONDS,
  nextRefreshAtMs,
  refreshPhase,
  RefreshTiming,
} from './connection-rules';

/**
 * A pure simulation of the sweep with the due rule (no database, no clock): connections made
 * in the same minute, a sweep every minute refreshing every connection whose moment has come,
 * each refresh giving a token of Amazon's 3600 s. Issue #17: such a cohort used to come due
 * together in one minute, every cycle.
 */
const MINUTE = 60_000;
const TOKEN_LIFE_MS = 3_600_000;
const WINDOW_SECONDS = 300;
const START = Date.UTC(2030, 0, 1, 12);

/** Deterministic UUID-shaped ids (as random as gen_random_uuid()'s for the hash). */
function idOf(n: number): string {
  const hex = createHash('sha256').update(`connection ${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface Simulation {
  /** Refreshes per minute, from the first sweep on. */
  perMinute: number[];
  /** The least time any token had left when refreshed (ms). */
  leastLeftMs: number;
  /** Every token was refreshed before it expired, at every sweep. */
  expiredSeen: number;
}

/**
 * `dueAt` answers when a row is next refreshed; the sweep at minute m refreshes the rows whose
 * moment has come, in the order claimed, 64 at a time with Amazon answering in 150 ms.
 */
function simulate(
  count: number,
  minutes: number,
  dueAt: (row: RefreshTiming) => number,
): Simulation {
  const ids: string[] = [];
  const expires = new Float64Array(count);
  const next = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    // Made over one minute (an import, a busy day).
    const made = START + Math.floor((n * MINUTE) / count);
    ids.push(idOf(n));
    expires[n] = made + TOKEN_LIFE_MS;
    next[n] = dueAt({
      id: ids[n],
      lastRefreshedAt: new Date(made),
      expiresAt: new Date(expires[n]),
    });
  }
  const perMinute: number[] = [];
  let leastLeftMs = Number.POSITIVE_INFINITY;
  let expiredSeen = 0;
  for (let minute = 1; minute <= minutes; minute++) {
    const sweep = START + minute * MINUTE;
    let refreshed = 0;
    for (let n = 0; n < count; n++) {
      if (expires[n] <= sweep) expiredSeen += 1;
      if (next[n] > sweep) continue;
      const at = sweep + Math.floor(refreshed / 64) * 150 + 150;
      leastLeftMs = Math.min(leastLeftMs, expires[n] - at);
      expires[n] = at + TOKEN_LIFE_MS;
      next[n] = dueAt({
        id: ids[n],
        lastRefreshedAt: new Date(at),
        expiresAt: new Date(expires[n]),
      });
      refreshed += 1;
    }
    perMinute.push(refreshed);
  }
  return { perMinute, leastLeftMs, expiredSeen };
}

function spreadOf(perMinute: number[]) {
  const total = perMinute.reduce((sum, value) => sum + value, 0);
  const average = total / perMinute.length;
  return {
    average,
    max: Math.max(...perMinute),
    min: Math.min(...perMinute),
    ratio: Math.max(...perMinute) / average,
  };
}

const rule = (row: RefreshTiming) =>
  nextRefreshAtMs(
    { ...row, status: 'active', nextAttemptAt: null },
    WINDOW_SECONDS,
  ) as number;

describe('the spread of refreshes (a simulation of the sweep with the due rule)', () => {
  it('refreshes 10,000 connections made in one minute evenly over 24 h, each token well before it expires', () => {
    const { perMinute, leastLeftMs, expiredSeen } = simulate(
      10_000,
      24 * 60,
      rule,
    );
    // From the third hour on (every connection past its first, early refresh).
    const steady = spreadOf(perMinute.slice(3 * 60));
    process.stdout.write(
      `10,000 made in one minute, hours 3 to 24: ${JSON.stringify(steady)}; least left at a refresh ${leastLeftMs} ms; first 10 minutes ${JSON.stringify(perMinute.slice(0, 10))}\n`,
    );

    expect(expiredSeen).toBe(0);
    // Due at most the window before expiry, refreshed by the next sweep.
    expect(leastLeftMs).toBeGreaterThanOrEqual(
      (WINDOW_SECONDS - 60) * 1000 - 10_000,
    );
    // One refresh per connection every 3000 s (the token's life, less the window and the
    // settling time).
    expect(steady.average).toBeCloseTo((10_000 * 60) / 3000, 0);
    expect(steady.max).toBeLessThanOrEqual(steady.average * 1.5);
    expect(steady.min).toBeGreaterThanOrEqual(steady.average * 0.5);
    // The first cycle too: nothing in the 5 minutes after the connect (the settling time), then
    // the cohort's first refreshes spread over the next 50 minutes.
    expect(perMinute.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(spreadOf(perMinute.slice(5, 55)).ratio).toBeLessThanOrEqual(1.5);
  });

  it('holds 100,000 connections made in one minute at about 33 refreshes a second, no minute over 1.5 times the average', () => {
    const { perMinute, expiredSeen } = simulate(100_000, 4 * 60, rule);
    const steady = spreadOf(perMinute.slice(60));
    process.stdout.write(
      `100,000 made in one minute, hours 1 to 4: ${JSON.stringify(steady)}\n`,
    );

    expect(expiredSeen).toBe(0);
    expect(steady.average / 60).toBeGreaterThan(32);
    expect(steady.average / 60).toBeLessThan(34);
    expect(steady.ratio).toBeLessThanOrEqual(1.5);
  });

  it('was needed: with the window alone, the cohort refreshes in lockstep, all in one minute', () => {
    const { perMinute } = simulate(
      10_000,
      24 * 60,
      (row) => (row.expiresAt as Date).getTime() - WINDOW_SECONDS * 1000,
    );
    const steady = spreadOf(perMinute.slice(3 * 60));
    // (All but the few made in the last milliseconds of the minute, which go one sweep later.)
    expect(steady.max).toBeGreaterThan(9_900);
  });

  it('a stable jitter taken off the due moment alone would not do: the cohort pulses', () => {
    // Up to 10 minutes earlier, by the id: each connection's cycle shortens, and connections
    // whose cycle rounds to the same number of minutes stay in step.
    const { perMinute, expiredSeen } = simulate(10_000, 24 * 60, (row) =>
      Math.max(
        (row.expiresAt as Date).getTime() -
          WINDOW_SECONDS * 1000 -
          refreshPhase(row.id) * 10 * MINUTE,
        (row.lastRefreshedAt as Date).getTime() +
          MIN_REFRESH_INTERVAL_SECONDS * 1000,
      ),
    );
    const steady = spreadOf(perMinute.slice(3 * 60));
    process.stdout.write(
      `stable jitter alone, hours 3 to 24: ${JSON.stringify(steady)}\n`,
    );
    expect(expiredSeen).toBe(0);
    expect(steady.ratio).toBeGreaterThan(3);
  });
});
