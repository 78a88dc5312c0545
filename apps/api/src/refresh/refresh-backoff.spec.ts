import {
  FIRST_RETRY_DELAY_MS,
  MAX_RETRY_DELAY_MS,
  nextAttemptDelayMs,
} from './refresh-backoff';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe(nextAttemptDelayMs.name, () => {
  it('waits 30 s after the first failure and doubles after each one after', () => {
    const delays = [1, 2, 3, 4, 5].map((failures) =>
      nextAttemptDelayMs(failures),
    );

    expect(delays).toEqual([
      30 * SECOND,
      60 * SECOND,
      2 * MINUTE,
      4 * MINUTE,
      8 * MINUTE,
    ]);
    expect(FIRST_RETRY_DELAY_MS).toBe(30 * SECOND);
  });

  it('never waits more than 15 min, however many failures', () => {
    expect(MAX_RETRY_DELAY_MS).toBe(15 * MINUTE);
    expect(nextAttemptDelayMs(6)).toBe(15 * MINUTE);
    expect(nextAttemptDelayMs(7)).toBe(15 * MINUTE);
    expect(nextAttemptDelayMs(1_000)).toBe(15 * MINUTE);
    expect(nextAttemptDelayMs(5_000)).toBe(15 * MINUTE);
  });

  it("waits at least Amazon's Retry-After, even beyond the 15 min cap", () => {
    expect(nextAttemptDelayMs(1, 2 * MINUTE)).toBe(2 * MINUTE);
    expect(nextAttemptDelayMs(10, 20 * MINUTE)).toBe(20 * MINUTE);
  });

  it('keeps the backoff when the Retry-After is shorter, zero or absent', () => {
    expect(nextAttemptDelayMs(3, 5 * SECOND)).toBe(2 * MINUTE);
    expect(nextAttemptDelayMs(3, 0)).toBe(2 * MINUTE);
    expect(nextAttemptDelayMs(3, undefined)).toBe(2 * MINUTE);
  });
});
