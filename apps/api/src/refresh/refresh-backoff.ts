/** The wait after a connection's first failed attempt. */
export const FIRST_RETRY_DELAY_MS = 30 * 1000;
/** The longest wait between failed attempts. */
export const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;

/**
 * How long a connection waits before its next attempt after `failureCount` failed attempts in a
 * row (counting the one just failed, so at least 1): 30 s, 60 s, 2 min … doubling up to 15 min,
 * and never less than Amazon's Retry-After when it sent one.
 */
export function nextAttemptDelayMs(
  failureCount: number,
  retryAfterMs?: number,
): number {
  return Math.max(
    Math.min(
      MAX_RETRY_DELAY_MS,
      FIRST_RETRY_DELAY_MS * 2 ** (failureCount - 1),
    ),
    retryAfterMs ?? 0,
  );
}
