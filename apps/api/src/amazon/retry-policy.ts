import { setTimeout as delay } from 'node:timers/promises';

/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay ceiling grows past this. */
  capMs: number;
  /** Uniform in [0, 1); `Math.random` outside tests. */
  random: () => number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = {
  baseMs: 500,
  capMs: 30_000,
  random: Math.random,
};

/**
 * Full jitter: uniformly random in [0, min(cap, base · 2^attempt)), whole milliseconds.
 * `attempt` counts the retries already made: 0 before the first retry.
 */
export function delayForAttempt(
  attempt: number,
  { baseMs, capMs, random }: BackoffOptions,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** The wait before retry number `attempt + 1`: the jittered backoff, never shorter than `Retry-After`. */
export function nextDelay(
  error: { readonly retryAfterMs?: number | undefined },
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
): number {
  return Math.max(delayForAttempt(attempt, options), error.retryAfterMs ?? 0);
}

/**
 * Milliseconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110
 * section 10.2.3). A date in the past means 0. `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  header: string | undefined,
  nowMs: number,
): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // Only IMF-fixdate and the obsolete forms carry a weekday or a month name; Date.parse accepts
  // far more ("1", "2024"), which is no HTTP-date.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Waits `ms`, or rejects as soon as `signal` aborts. Tests pass their own that returns at once. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};
