import { LwaRateLimitedError, LwaServerError } from './lwa.errors';
import { delayForAttempt, nextDelay, parseRetryAfter } from './retry-policy';

describe(delayForAttempt.name, () => {
  const backoff = (random: number) => ({
    baseMs: 100,
    capMs: 1_000,
    random: () => random,
  });

  it('grows the ceiling exponentially from the base and stops at the cap', () => {
    const sut = (attempt: number) =>
      delayForAttempt(attempt, backoff(0.999999));

    expect([0, 1, 2, 3, 4, 5, 30, 2_000].map(sut)).toEqual([
      99, 199, 399, 799, 999, 999, 999, 999,
    ]);
  });

  it('draws uniformly below the ceiling (full jitter), in whole milliseconds', () => {
    expect(delayForAttempt(2, backoff(0))).toBe(0);
    expect(delayForAttempt(2, backoff(0.5))).toBe(200);
    expect(delayForAttempt(2, backoff(0.33333))).toBe(133);
  });
});

describe(nextDelay.name, () => {
  const options = { baseMs: 100, capMs: 1_000, random: () => 0.5 };

  it('is the jittered backoff when Amazon named no wait', () => {
    expect(nextDelay(new LwaServerError(500), 1, options)).toBe(100);
    expect(nextDelay(new LwaRateLimitedError(undefined), 3, options)).toBe(400);
  });

  it('is never shorter than Retry-After, and longer when the backoff is', () => {
    expect(nextDelay(new LwaRateLimitedError(7_000), 0, options)).toBe(7_000);
    expect(nextDelay(new LwaServerError(503, 50), 3, options)).toBe(400);
  });
});

describe(parseRetryAfter.name, () => {
  const now = Date.parse('2025-03-01T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 7 ', now)).toBe(7_000);
  });

  it('reads an HTTP-date, a past one as no wait', () => {
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Saturday, 01-Mar-25 12:00:30 GMT', now)).toBe(
      30_000,
    );
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for an absent or unreadable header', () => {
    for (const header of [
      undefined,
      '',
      '  ',
      '-1',
      '1.5',
      'soon',
      '2026-01-01',
      'Sat, 99 Foo 2025 GMT',
      '9'.repeat(40),
    ]) {
      expect(parseRetryAfter(header, now)).toBeUndefined();
    }
  });
});
