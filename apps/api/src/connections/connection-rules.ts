import type { AdsProfileDto, ConnectionStatus } from '@keeper/contracts';

/**
 * The rules about a connection that more than one part of the service applies: whether it is
 * live, when its token is due for a refresh, and which advertiser accounts it stands for. Each
 * is written here once, for SQL (the statements of `ConnectionsRepository`) and for TypeScript
 * (the access-token fast path, the admin's view) from the same constants, and
 * `connection-rules.integration.spec.ts` asserts that both forms answer alike.
 * README: "What the service does on its own" and "How the parts fit".
 */

/**
 * Live: the keeper refreshes the connection and hands out its token. `needs_reauth` waits for a
 * new consent and `disconnected` is closed; both answer 409 to a job.
 */
export const LIVE_STATUSES = [
  'active',
  'degraded',
] as const satisfies readonly ConnectionStatus[];

export function isLive(status: string): boolean {
  return (LIVE_STATUSES as readonly string[]).includes(status);
}

/** SQL: the row is live (see {@link LIVE_STATUSES}). */
export const LIVE_SQL = `status IN (${LIVE_STATUSES.map((status) => `'${status}'`).join(', ')})`;

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

/** SQL: no replica holds the row's lease (or its holder let it run out). */
export const UNLEASED_SQL =
  '(lease_expires_at IS NULL OR lease_expires_at < now())';

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

/** Due now, and the minimum interval has passed: what the sweep's claim asks of a row. */
export function refreshableNow(
  row: RefreshTiming,
  windowSeconds: number,
  now = Date.now(),
): boolean {
  return dueAtMs(row, windowSeconds) <= now && intervalPassed(row, now);
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
  return !refreshableNow(row, windowSeconds, now);
}

/**
 * When the sweep will next try a live connection (Unix ms): when its token is due, or its
 * scheduled retry if that comes later. Undefined for a connection that is not live or holds no
 * token. What the console shows as "next refresh".
 */
export function nextRefreshAtMs(
  row: RefreshTiming & { status: string; nextAttemptAt: Date | null },
  windowSeconds: number,
): number | undefined {
  if (!isLive(row.status) || !row.expiresAt) return undefined;
  const dueAt = Math.max(
    dueAtMs(row, windowSeconds),
    row.lastRefreshedAt
      ? row.lastRefreshedAt.getTime() + MIN_REFRESH_INTERVAL_SECONDS * 1000
      : Number.NEGATIVE_INFINITY,
  );
  return Math.max(dueAt, row.nextAttemptAt?.getTime() ?? dueAt);
}

/**
 * The advertiser accounts a connection stands for: the distinct account ids of its Ads
 * profiles, sorted. A reconnect is matched on them and twins are merged on them.
 */
export function accountIdsOf(profiles: readonly AdsProfileDto[]): string[] {
  return [...new Set(profiles.map((profile) => profile.accountId))].sort();
}
