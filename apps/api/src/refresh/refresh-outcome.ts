import type { LwaTokenSet } from '../amazon/lwa.client';
import { LwaError, LwaInvalidGrantError } from '../amazon/lwa.errors';
import type { ConnectionEntity } from '../connections/connection.entity';
import { nextAttemptDelayMs } from './refresh-backoff';

/**
 * What an attempt's answer does to the connection's row, as pure functions of the row, the
 * answer and the clock (README: "What the service does on its own"). `RefreshService` writes
 * the changes, guarded by its lease, with the audit event.
 */

/** Amazon issued tokens: the row is live and healthy again, its lease given back. */
export function changesAfterSuccess(
  row: Pick<ConnectionEntity, 'refreshToken'>,
  tokens: LwaTokenSet,
  now: Date,
): Partial<ConnectionEntity> {
  return {
    accessToken: tokens.accessToken,
    // Amazon may or may not send a refresh token; without one, the old one stays valid.
    refreshToken: tokens.refreshToken ?? row.refreshToken,
    accessTokenExpiresAt: new Date(
      now.getTime() + tokens.expiresInSeconds * 1000,
    ),
    lastRefreshedAt: now,
    status: 'active',
    failureCount: 0,
    lastError: null,
    nextAttemptAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
  };
}

export interface FailureOutcome {
  /** `invalid_grant`: only a new consent helps; no retry is scheduled. */
  needsReauth: boolean;
  failureCount: number;
  /** Until the next attempt (the backoff, or Amazon's Retry-After when longer). */
  delayMs: number;
  changes: Partial<ConnectionEntity>;
}

/**
 * Amazon refused or did not answer (after the attempt's retries). Not for `invalid_client`:
 * that is our credentials' fault, and no connection is marked (see RefreshPause).
 */
export function outcomeOfFailure(
  row: Pick<ConnectionEntity, 'failureCount'>,
  error: LwaError,
  now: Date,
): FailureOutcome {
  const needsReauth = error instanceof LwaInvalidGrantError;
  const failureCount = row.failureCount + 1;
  const delayMs = nextAttemptDelayMs(failureCount, error.retryAfterMs);
  return {
    needsReauth,
    failureCount,
    delayMs,
    changes: {
      status: needsReauth ? 'needs_reauth' : 'degraded',
      failureCount,
      lastError: error.message,
      nextAttemptAt: needsReauth ? null : new Date(now.getTime() + delayMs),
      leaseOwner: null,
      // A Retry-After holds the row like a lease nobody owns: no replica claims it before then,
      // even once the end of an outage makes it due again (RefreshService.resumeAfterOutage).
      leaseExpiresAt: error.retryAfterMs
        ? new Date(now.getTime() + error.retryAfterMs)
        : null,
    },
  };
}
