import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { AccessTokenService } from '../access-tokens/access-token.service';
import { amazonEndpointsFor } from '../amazon/amazon-regions';
import { LwaError } from '../amazon/lwa.errors';
import {
  delayForAttempt,
  parseRetryAfter,
  realSleep,
  Sleep,
} from '../amazon/retry-policy';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isLive } from '../connections/connection-rules';
import { ConnectionEntity } from '../connections/connection.entity';
import { StoredAccessToken } from '../connections/connections.repository';
import { AdsProxyMetrics } from '../metrics/ads-proxy.metrics';
import { ProfileReader } from '../refresh/profile-reader';
import { AdsTarget, upstreamUrl } from './ads-path';
import { scopeOf, upstreamRequestHeaders } from './ads-headers';
import { AdsProxyError, unknownAdsConnection } from './ads-proxy.errors';
import {
  AdsUpstream,
  discard,
  UpstreamError,
  UpstreamResponse,
} from './ads-upstream';
import { ThrottleGate } from './throttle-gate';

/** A proxied call ends within this: waits for 429s and retries included. */
export const PROXY_DEADLINE_MS = 60_000;
/** Retries of a 5xx or of no answer (idempotent methods; POST only when nothing was sent). */
export const MAX_FAILURE_RETRIES = 2;
/** An unknown profile makes the connection's profiles be read again at most this often. */
export const PROFILE_REREAD_INTERVAL_MS = 60_000;
/** Backoff with full jitter for a 429 without `Retry-After` and for failures: 1 s, 2 s, 4 s … 30 s. */
const BACKOFF = { baseMs: 1_000, capMs: 30_000 };
/** Methods whose repetition does no harm (RFC 9110 section 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export interface ProxyCall {
  connectionId: string;
  method: string;
  target: AdsTarget;
  headers: IncomingHttpHeaders;
  /** Kept only while a retry may need it. */
  body: Buffer | undefined;
  correlationId: string;
  /** Who a refresh's audit names: `service:<key id>`. */
  actor?: string;
  /** Aborted when the caller goes away: nothing more is sent for it. */
  signal: AbortSignal;
}

export interface ProxyAnswer {
  /** Amazon's answer, its body still to stream. */
  response: UpstreamResponse;
  region: string;
  /** Requests sent to Amazon for this call (1 without retries). */
  attempts: number;
  /** Time spent waiting for Amazon's answers (all attempts) and in backoff waits. */
  amazonMs: number;
  waitedMs: number;
}

/**
 * The Ads API proxy (README: "Call the Ads API through the keeper"): sends a job's call to the
 * connection's region host with the connection's token and our client id, and handles what
 * Amazon's API asks of every client:
 * - a scope the connection cannot reach is refused before Amazon is called (one re-read of the
 *   profiles first, at most once a minute), so a wrong scope never costs a refresh;
 * - a 401 gets one refresh (shared with every other caller) and one retry, never more; a
 *   second 401 goes back as Amazon sent it;
 * - a 429 is waited out (`Retry-After`, else backoff with full jitter) within the deadline, and
 *   holds the profile for every other call meanwhile;
 * - a 5xx, reset or timeout is retried for idempotent methods only (POST when nothing was sent);
 * - redirects are never followed.
 */
@Injectable()
export class AdsProxyService implements OnApplicationShutdown {
  private readonly upstream = new AdsUpstream();
  readonly gate: ThrottleGate;
  private sleep: Sleep = realSleep;
  private random: () => number = Math.random;

  constructor(
    private readonly tokens: AccessTokenService,
    private readonly profiles: ProfileReader,
    private readonly metrics: AdsProxyMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.gate = new ThrottleGate();
    metrics.countThrottledWith(() => this.gate.heldCount);
  }

  /** Tests: waits that return at once, and a fixed jitter. */
  useClock(sleep: Sleep, random: () => number): void {
    this.sleep = sleep;
    this.random = random;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.upstream.close();
  }

  async forward(call: ProxyCall): Promise<ProxyAnswer> {
    const deadline = Date.now() + PROXY_DEADLINE_MS;
    // One batched read (shared with every call of this turn of the event loop) answers the
    // status, the region, the profiles and, most of the time, the token itself.
    const connection = liveConnection(
      call.connectionId,
      await this.tokens.storedRow(call.connectionId),
    );
    const scope = await this.checkedScope(connection, call);
    const url = upstreamUrl(
      amazonEndpointsFor(connection.region, this.config.amazon).adsApiUrl,
      call.target,
    );
    const gateKey = `${connection.region}:${scope ?? connection.id}`;
    let accessToken =
      this.tokens.servableToken(connection)?.accessToken ??
      (await this.accessToken(() =>
        this.tokens.accessToken(connection.id, call.correlationId, call.actor),
      ));
    let attempts = 0;
    let amazonMs = 0;
    let waitedMs = 0;
    let refreshedAfter401 = false;
    let throttledRetries = 0;
    let failureRetries = 0;
    const wait = async (ms: number) => {
      const started = performance.now();
      try {
        await this.sleep(ms, call.signal);
      } catch (error) {
        if (call.signal.aborted) throw callerGone(attempts);
        throw error;
      }
      waitedMs += performance.now() - started;
    };
    const retryAllowed = (error?: UpstreamError) =>
      IDEMPOTENT.has(call.method) || (error !== undefined && !error.sent);

    for (;;) {
      const heldUntil = this.gate.heldUntil(gateKey);
      if (heldUntil !== undefined) {
        if (heldUntil > deadline) throw throttled(heldUntil, attempts);
        await wait(heldUntil - Date.now());
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw deadlinePassed(attempts);
      const sent = performance.now();
      let response: UpstreamResponse;
      try {
        attempts += 1;
        response = await this.upstream.send({
          url,
          method: call.method,
          headers: upstreamRequestHeaders(
            call.headers,
            { accessToken, clientId: this.config.amazon.clientId },
            call.body?.length,
          ),
          body: call.body,
          timeoutMs: remaining,
          signal: call.signal,
        });
      } catch (error) {
        amazonMs += performance.now() - sent;
        if (!(error instanceof UpstreamError)) throw error;
        if (call.signal.aborted) throw callerGone(attempts);
        if (error.timedOut && Date.now() >= deadline)
          throw deadlinePassed(attempts);
        if (failureRetries < MAX_FAILURE_RETRIES && retryAllowed(error)) {
          const delay = this.backoff(failureRetries);
          if (Date.now() + delay < deadline) {
            failureRetries += 1;
            this.metrics.recordRetry('transport');
            await wait(delay);
            continue;
          }
        }
        throw new AdsProxyError(
          502,
          'amazon_unreachable',
          `Amazon's Ads API did not answer (${error.code}) after ${attempts} attempt(s).`,
          undefined,
          attempts,
        );
      }
      amazonMs += performance.now() - sent;
      const status = response.statusCode;

      if (status === 401 && !refreshedAfter401) {
        // Revoked or rotated mid-hour: one refresh, shared with every caller, then one retry.
        refreshedAfter401 = true;
        discard(response);
        const rejected = accessToken;
        accessToken = await this.accessToken(() =>
          this.tokens.accessTokenAfterUnauthorized(
            connection.id,
            rejected,
            call.correlationId,
            call.actor,
          ),
        );
        this.metrics.recordRetry('unauthorized');
        continue;
      }

      if (status === 429) {
        const retryAfterMs =
          parseRetryAfter(headerOf(response, 'retry-after'), Date.now()) ??
          this.backoff(throttledRetries);
        const until = Date.now() + retryAfterMs;
        this.gate.hold(gateKey, until);
        if (until >= deadline) {
          // Waiting would outlast the deadline: Amazon's answer, with a Retry-After for sure.
          if (!headerOf(response, 'retry-after'))
            response.headers['retry-after'] = String(
              Math.max(1, Math.ceil(retryAfterMs / 1000)),
            );
          return {
            response,
            region: connection.region,
            attempts,
            amazonMs,
            waitedMs,
          };
        }
        discard(response);
        throttledRetries += 1;
        this.metrics.recordRetry('throttled');
        continue;
      }

      if (
        status >= 500 &&
        failureRetries < MAX_FAILURE_RETRIES &&
        retryAllowed()
      ) {
        const delay = this.backoff(failureRetries);
        if (Date.now() + delay < deadline) {
          discard(response);
          failureRetries += 1;
          this.metrics.recordRetry('server_error');
          await wait(delay);
          continue;
        }
      }
      return {
        response,
        region: connection.region,
        attempts,
        amazonMs,
        waitedMs,
      };
    }
  }

  private backoff(retries: number): number {
    return delayForAttempt(retries, { ...BACKOFF, random: this.random });
  }

  /**
   * The caller's `Amazon-Advertising-API-Scope`, checked against the profiles the connection
   * reaches. An unknown one makes the profiles be read again (at most once a minute) before it
   * is refused: a profile added in Amazon since the last read works at once.
   */
  private async checkedScope(
    connection: StoredAccessToken,
    call: ProxyCall,
  ): Promise<string | undefined> {
    const scope = scopeOf(call.headers);
    if (scope === undefined) return undefined;
    if (typeof scope !== 'string')
      throw new AdsProxyError(
        400,
        'bad_scope',
        'Amazon-Advertising-API-Scope must be one profile id (digits).',
      );
    const reaches = (profiles: ConnectionEntity['profiles']) =>
      profiles.some(
        (profile) => profile.profileId === scope && !profile.lostAt,
      );
    if (reaches(connection.profiles)) return scope;
    const reread = await this.profiles.reread(
      connection.id,
      call.correlationId,
      { notWithinMs: PROFILE_REREAD_INTERVAL_MS },
    );
    if (reread && reaches(reread.profiles)) return scope;
    throw new AdsProxyError(
      403,
      'unknown_scope',
      `Profile ${scope} is not one this connection can reach; its profiles are listed with the connection (GET /api/v1/connections/${connection.id}).`,
    );
  }

  /** A token for the call; the keeper's refresh errors keep their status, Amazon's are 502. */
  private async accessToken(
    get: () => Promise<{ accessToken: string }>,
  ): Promise<string> {
    try {
      return (await get()).accessToken;
    } catch (error) {
      if (error instanceof LwaError && error.httpStatus !== 409)
        throw new AdsProxyError(
          502,
          'token_unavailable',
          `No access token: ${error.message}`,
        );
      throw error;
    }
  }
}

function liveConnection(
  id: string,
  row: StoredAccessToken | undefined,
): StoredAccessToken {
  if (!row) throw unknownAdsConnection(id);
  if (!isLive(row.status))
    throw new AdsProxyError(
      409,
      row.status,
      row.status === 'needs_reauth'
        ? 'This connection needs a new consent (Reconnect in the console): Amazon no longer accepts its refresh token.'
        : 'This connection was disconnected.',
    );
  return row;
}

function headerOf(
  response: UpstreamResponse,
  name: string,
): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function throttled(untilMs: number, attempts: number): AdsProxyError {
  const seconds = Math.max(1, Math.ceil((untilMs - Date.now()) / 1000));
  return new AdsProxyError(
    429,
    'throttled',
    `Amazon throttles this profile for another ${seconds} s; try again then.`,
    seconds,
    attempts,
  );
}

function deadlinePassed(attempts: number): AdsProxyError {
  return new AdsProxyError(
    504,
    'deadline',
    `Amazon's Ads API did not answer within ${PROXY_DEADLINE_MS / 1000} s.`,
    undefined,
    attempts,
  );
}

/** The caller went away: nothing more is sent for it; logged as a 499, no failure of ours. */
function callerGone(attempts: number): AdsProxyError {
  return new AdsProxyError(
    499,
    'client_gone',
    'The caller closed the connection before the answer.',
    undefined,
    attempts,
  );
}
