/**
 * When a connection may be refreshed: the one rule the sweep, "refresh now" and the
 * access-token path share, written once for SQL (the lease claims) and once for TypeScript
 * (the access-token fast path), from the same constants. README: "What the service does on its
 * own".
 */

/**
 * A connection is never refreshed again sooner than this after its last refresh, whoever asks
 * (the sweep, a job, another replica), unless Amazon answered 401 to its current token (see
 * `AccessTokenService.accessTokenAfterUnauthorized`) or an admin clicks "Refresh now".
 */
export const MIN_REFRESH_INTERVAL_SECONDS = 60;

/**
 * When Amazon's tokens live no longer than twice the window, a token is due once this fraction
 * of its lifetime is left instead of at once (a 200 s token with a 300 s window: due with 100 s
 * left), so a short lifetime never makes every token permanently due.
 */
export const SHORT_TOKEN_DUE_FRACTION = 0.5;

/** Amazon's access tokens live 3600 s; a window longer than half of that is refused at start. */
export const MAX_REFRESH_WINDOW_SECONDS = 1800;

/**
 * SQL: the row's token is due. `$window` names the parameter holding REFRESH_WINDOW_SECONDS.
 * The first bound is implied by the second and lets PostgreSQL use the expiry index.
 */
export function dueSql(window: string): string {
  return `(access_token_expires_at <= now() + make_interval(secs => ${window})
       AND access_token_expires_at <= now() + LEAST(
         make_interval(secs => ${window}),
         COALESCE((access_token_expires_at - last_refreshed_at) * ${SHORT_TOKEN_DUE_FRACTION}, make_interval(secs => ${window}))))`;
}

/**
 * SQL: a failed connection's backoff (30 s, 1 min, 2 min … 15 min, or Amazon's Retry-After)
 * has passed. A job asking for a token obeys it like the sweep: during an Amazon outage, each
 * call must not become one more attempt against Login with Amazon.
 */
export const RETRY_DUE_SQL =
  '(next_attempt_at IS NULL OR next_attempt_at <= now())';

/** SQL: the row's last refresh is far enough back for another. */
export const INTERVAL_PASSED_SQL = `(last_refreshed_at IS NULL OR last_refreshed_at <= now() - make_interval(secs => ${MIN_REFRESH_INTERVAL_SECONDS}))`;

export interface RefreshTiming {
  expiresAt: Date | null;
  lastRefreshedAt: Date | null;
}

/** When the token becomes due (Unix ms): the same rule as {@link dueSql}. */
export function dueAtMs(row: RefreshTiming, windowSeconds: number): number {
  // No expiry stored (no token): never due, as in SQL, where a NULL comparison is not true.
  if (!row.expiresAt) return Number.POSITIVE_INFINITY;
  const expiresAt = row.expiresAt.getTime();
  let windowMs = windowSeconds * 1000;
  if (row.lastRefreshedAt) {
    windowMs = Math.min(
      windowMs,
      (expiresAt - row.lastRefreshedAt.getTime()) * SHORT_TOKEN_DUE_FRACTION,
    );
  }
  return expiresAt - windowMs;
}

/** The same rule as {@link INTERVAL_PASSED_SQL}. */
export function intervalPassed(row: RefreshTiming, now = Date.now()): boolean {
  return (
    !row.lastRefreshedAt ||
    row.lastRefreshedAt.getTime() <= now - MIN_REFRESH_INTERVAL_SECONDS * 1000
  );
}

/**
 * A token to hand out as it is: not yet due, or due but refreshed too recently for another
 * refresh while it is still valid (the token a refresh would replace is minutes old).
 */
export function servableAsIs(
  row: RefreshTiming,
  windowSeconds: number,
  now = Date.now(),
): boolean {
  const expiresAt = row.expiresAt?.getTime() ?? 0;
  if (expiresAt <= now) return false;
  return dueAtMs(row, windowSeconds) > now || !intervalPassed(row, now);
}
