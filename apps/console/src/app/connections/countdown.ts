/** How long Amazon's access tokens live. */
export const TOKEN_LIFETIME_SECONDS = 3600;

/**
 * Whole seconds as `mm:ss`; minutes keep counting past 59 (`61:05`) and never go below
 * `00:00`.
 */
export function formatMinutesSeconds(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Seconds left until `expiresAt` at server time `now` (ms), rounded up so the countdown reads
 * `00:01` in its last second and reaches `00:00` exactly when the token expires. Negative
 * once expired.
 */
export function secondsUntil(expiresAt: string, now: number): number {
  return Math.ceil((Date.parse(expiresAt) - now) / 1000);
}

/** How much of a token's lifetime is left, from 1 (just issued) to 0 (expired). */
export function lifetimeLeft(
  secondsLeft: number,
  lifetimeSeconds = TOKEN_LIFETIME_SECONDS,
): number {
  return Math.min(1, Math.max(0, secondsLeft / lifetimeSeconds));
}

export type TokenCountdown =
  | { state: 'none' }
  | { state: 'expired' }
  | {
      state: 'valid';
      /** `mm:ss` */
      text: string;
      secondsLeft: number;
      /** 0 to 1, see {@link lifetimeLeft}. */
      fractionLeft: number;
    };

/**
 * What a connection's countdown shows at server time `now`: nothing without a token
 * (disconnected), "expired", or the time left and the share of the lifetime left.
 */
export function tokenCountdown(
  expiresAt: string | null,
  now: number,
): TokenCountdown {
  if (!expiresAt || Number.isNaN(Date.parse(expiresAt))) {
    return { state: 'none' };
  }
  // No token lives longer than its lifetime: more left means the clocks differ (or the
  // shared clock has not ticked since a refresh), not a longer-lived token.
  const secondsLeft = Math.min(
    secondsUntil(expiresAt, now),
    TOKEN_LIFETIME_SECONDS,
  );
  if (secondsLeft <= 0) return { state: 'expired' };
  return {
    state: 'valid',
    text: formatMinutesSeconds(secondsLeft),
    secondsLeft,
    fractionLeft: lifetimeLeft(secondsLeft),
  };
}
