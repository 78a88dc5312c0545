import type { AdsProfileDto, ConnectionStatus } from '@keeper/contracts';
import { createHash } from 'node:crypto';

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
 * Spreading the refreshes. Connections made together (an import, a busy day) would otherwise
 * come due together every cycle, in the same minute, hour after hour: each is due a fixed time
 * (the window) before an expiry that is a fixed time (the token's life) after its last
 * refresh, so a cohort keeps its lockstep forever.
 *
 * A stable jitter per connection (a fraction of its id's hash taken off the due moment) does
 * not break that lockstep: it shortens the connection's cycle instead of shifting it, and as
 * the sweep runs once a minute, every connection whose shortened cycle rounds to the same
 * number of minutes stays in step with the others (10,000 connections made in one minute with
 * up to 10 minutes of such jitter refresh in pulses of about 1,000, `refresh-spread.spec.ts`).
 *
 * So the jitter places each connection on a grid of its own in absolute time: its slots are
 * `(phase + k) × span` (Unix seconds, any whole k), `phase` in [0, 1) from its id's hash
 * ({@link refreshPhase}), and `span` the time from {@link SPREAD_SETTLE_SECONDS} after its last
 * refresh to its latest due moment (the window before expiry): 3600 - 300 - 300 = 3000 s for
 * Amazon's tokens and the default window. A token is due at its last slot before that latest
 * moment. Each span holds exactly one slot, and a refresh on a slot (give or take the sweep's
 * delay, up to a span less the settling time) moves the latest moment one span on, with the
 * next slot just inside: every refresh lands on the connection's own slot, one span after the
 * last. The phases of any set of ids are spread evenly, so are their refreshes: in steady state
 * (100,000 connections: 33 a second), from the first refresh after a connect, and again one
 * refresh after an outage has bunched them up.
 *
 * The guarantees stay: a token is never due later than before (the window before expiry, or
 * half a short token's life), so it is refreshed before it expires with the window left for
 * retries; never within the settling time of its last refresh (nor, as ever, the minimum
 * interval). What it costs: a refresh every 3000 s instead of about every 3300 s, and the first
 * refresh after a connect comes anywhere in its span. A span shorter than
 * {@link SPREAD_MIN_SPAN_SECONDS} (a token living little longer than the window) is not spread:
 * the due moment is the latest one, as before.
 */
export const SPREAD_MIN_SPAN_SECONDS = 600;

/**
 * A spread connection is never due within this long of its last refresh: a token just refreshed
 * (or just connected) stays put for 5 minutes whatever its slot.
 */
export const SPREAD_SETTLE_SECONDS = 300;

/**
 * The connection's place in its span, in [0, 1): the first 32 bits of the MD5 of its id (the
 * lowercase UUID text, as PostgreSQL writes `id::text`), over 2^32. A hash, not the id's own
 * bits, so ids given in sequence (tests, imports) are spread too. Not a security measure.
 */
export function refreshPhase(id: string): number {
  const hex = createHash('md5').update(id.toLowerCase()).digest('hex');
  return parseInt(hex.slice(0, 8), 16) / 2 ** 32;
}

/**
 * SQL: the row's token is due. `$window` names the parameter holding REFRESH_WINDOW_SECONDS.
 * The same rule as {@link dueAtMs}, in seconds since the epoch (`date_part`, a float8 like a
 * JavaScript number), with the phase stored in `refresh_phase` (a generated column: the
 * RefreshPhase migration). No bound on the expiry alone can say a row is not due (a spread
 * connection may be due any time from 5 minutes after its last refresh), so the sweep's claim
 * reads every live row: about 80 ms per 100,000 rows.
 */
export function dueSql(window: string): string {
  const expires = `date_part('epoch', access_token_expires_at)`;
  const life = `(${expires} - date_part('epoch', last_refreshed_at))`;
  // The window, or half a short token's life (NULL when never refreshed: the window).
  const windowSeconds = `LEAST(${window}::float8, COALESCE(${life} * ${SHORT_TOKEN_DUE_FRACTION}, ${window}::float8))`;
  const latest = `(${expires} - ${windowSeconds})`;
  const span = `(${life} - ${windowSeconds} - ${SPREAD_SETTLE_SECONDS})`;
  return `(CASE WHEN ${span} >= ${SPREAD_MIN_SPAN_SECONDS}
         THEN ${span} * (refresh_phase + floor(${latest} / ${span} - refresh_phase))
         ELSE ${latest} END <= date_part('epoch', now()))`;
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
  /** The connection's id: its place in the spread ({@link refreshPhase}). */
  id: string;
  expiresAt: Date | null;
  lastRefreshedAt: Date | null;
}

/**
 * When the token becomes due (Unix ms): the same rule as {@link dueSql}. The latest due moment
 * is the window before the expiry (half the life of a short token); a spread connection is due
 * at its last slot before that (see {@link SPREAD_MIN_SPAN_SECONDS}).
 */
export function dueAtMs(row: RefreshTiming, windowSeconds: number): number {
  // No expiry stored (no token): never due, as in SQL, where a NULL comparison is not true.
  if (!row.expiresAt) return Number.POSITIVE_INFINITY;
  const expires = row.expiresAt.getTime() / 1000;
  if (!row.lastRefreshedAt) return (expires - windowSeconds) * 1000;
  const life = expires - row.lastRefreshedAt.getTime() / 1000;
  const window = Math.min(windowSeconds, life * SHORT_TOKEN_DUE_FRACTION);
  const latest = expires - window;
  const span = life - window - SPREAD_SETTLE_SECONDS;
  if (!(span >= SPREAD_MIN_SPAN_SECONDS)) return latest * 1000;
  // The last slot, (phase + k) × span, at or before the latest moment: as in SQL, term for term.
  const phase = refreshPhase(row.id);
  return span * (phase + Math.floor(latest / span - phase)) * 1000;
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
