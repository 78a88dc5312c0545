import type {
  AdsProfileDto,
  DspAdvertiserDto,
  Region,
} from '@keeper/contracts';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import {
  DEFAULT_REFRESH_CONCURRENCY,
  DEFAULT_REFRESH_MAX_PER_SECOND,
  type AppConfig,
} from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { amazonEndpointsFor, AmazonEndpoints } from './amazon-regions';
import { HttpExchange, HttpExchangeRequest } from './http-exchange';
import {
  adsApiErrorFor,
  LwaHttpAnswer,
  LwaTokenSet,
  parseDspAdvertisers,
  parseProfiles,
  parseTokenResponse,
  tokenErrorFor,
  transportErrorFor,
} from './lwa-response.parser';
import {
  LwaAbortedError,
  LwaEndpointKind,
  LwaError,
  LwaErrorKind,
  LwaTimeoutError,
} from './lwa.errors';
import {
  BackoffOptions,
  DEFAULT_BACKOFF,
  nextDelay,
  realSleep,
  Sleep,
} from './retry-policy';
import { TokenRequestPacer, TokenRequestPriority } from './token-request-pacer';

export type { LwaTokenSet } from './lwa-response.parser';

/** The scope every consent asks for: the Ads API's campaign management. */
export const LWA_SCOPE = 'advertising::campaign_management';

/** Optional tuning of {@link LwaClient}; tests provide it to use short timeouts and a fake sleep. */
export const LWA_CLIENT_OPTIONS = Symbol('LWA_CLIENT_OPTIONS');

export interface LwaClientOptions {
  /** Per request, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  /** Backoff between retries (full jitter). Default base 500 ms, cap 30 s, `Math.random`. */
  backoff?: Partial<BackoffOptions>;
  /**
   * A `Retry-After` longer than this ends the call with the rate-limit error instead of holding
   * it (and a refresh slot) that long; the caller's own schedule tries later. Default 60 s.
   */
  maxRetryAfterMs?: number;
  sleep?: Sleep;
  /** Clock for `Retry-After` HTTP-dates. */
  now?: () => number;
  /** The cap on token requests a second. Default: `REFRESH_MAX_PER_SECOND`'s. */
  pacer?: TokenRequestPacer;
}

/** One request to Amazon, as reported to {@link LwaCallOptions.onAttempt}. */
export interface LwaAttempt {
  /** 1 for the first request, 2 for the first retry… */
  attempt: number;
  outcome: 'ok' | LwaErrorKind;
  durationMs: number;
  /** Amazon's HTTP status, when it answered. */
  status?: number;
  /** Set when another attempt follows after this many milliseconds. */
  delayMs?: number;
}

export interface LwaCallOptions {
  /** Retries after the first request, for transient errors only. Default `REFRESH_MAX_RETRIES`. */
  maxRetries?: number;
  /** Aborts the request in flight and any wait between attempts ({@link LwaAbortedError}). */
  signal?: AbortSignal;
  /** Called after every request, for logs and metrics. */
  onAttempt?: (attempt: LwaAttempt) => void;
  /**
   * Whose token request waits for the cap (`REFRESH_MAX_PER_SECOND`): `interactive` (the
   * default: a job, an admin) goes before `background` (the sweep, an import's proofs).
   */
  priority?: TokenRequestPriority;
}

/** What the consent page needs besides the configuration. */
export interface AuthorizationRequest {
  /** Opaque, single-use, bound to the admin's session. */
  state: string;
  /** PKCE: base64url(SHA-256(code_verifier)), 43 characters. */
  codeChallenge: string;
}

export interface CodeExchange {
  /** The `code` from the consent redirect. */
  code: string;
  /** The PKCE verifier whose challenge went to the consent page. */
  codeVerifier: string;
}

/** Tokens from the first exchange; Amazon always issues a refresh token with them. */
export interface LwaTokens extends LwaTokenSet {
  refreshToken: string;
}

interface AmazonCall<T> {
  region: Region;
  endpoint: LwaEndpointKind;
  request: HttpExchangeRequest;
  maxContentLength: number;
  parse(body: string): T;
  errorFor(answer: LwaHttpAnswer, nowMs: number): LwaError;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
const TOKEN_RESPONSE_LIMIT = 64 * 1024;
const PROFILES_RESPONSE_LIMIT = 8 * 1024 * 1024;
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An Ads profile id as the Ads API takes it in `Amazon-Advertising-API-Scope`. */
const PROFILE_ID = /^\d{1,20}$/;
/** `GET /dsp/advertisers` answers at most 100 per page. */
const DSP_PAGE_SIZE = 100;
/** Pages read at most per profile (5,000 advertisers): a bound on a looping or runaway answer. */
const DSP_MAX_PAGES = 50;

function requireValue(value: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '')
    throw new TypeError(`${what} must be a non-empty string`);
}

/**
 * Login with Amazon and the Ads API profile list, per region. Sends form-encoded token
 * requests with a timeout, maps every answer to a typed {@link LwaError} and retries the
 * transient ones with exponential backoff and full jitter, never sooner than `Retry-After`.
 *
 * Logs only region, endpoint kind, HTTP status, outcome and duration: never a request or
 * response body, a token, a code or the client secret.
 */
@Injectable()
export class LwaClient implements OnApplicationShutdown {
  private readonly logger = new Logger(LwaClient.name);
  private readonly http: HttpExchange;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  /** Every request to the token endpoint (retries too) takes a permit first. */
  readonly pacer: TokenRequestPacer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(LWA_CLIENT_OPTIONS)
    options: LwaClientOptions | null = null,
  ) {
    this.timeoutMs =
      options?.timeoutMs ?? config.amazon?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.backoff = { ...DEFAULT_BACKOFF, ...options?.backoff };
    this.maxRetryAfterMs =
      options?.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.sleep = options?.sleep ?? realSleep;
    this.now = options?.now ?? Date.now;
    // The sweep's refreshes in flight, and 32 more for jobs, admins and profile reads (the
    // socket limit once capped a sweep at 32 token requests in flight whatever its concurrency).
    this.http = new HttpExchange(
      (config.refresh?.concurrency ?? DEFAULT_REFRESH_CONCURRENCY) + 32,
    );
    this.pacer =
      options?.pacer ??
      new TokenRequestPacer(
        config.refresh?.maxPerSecond ?? DEFAULT_REFRESH_MAX_PER_SECOND,
      );
  }

  /**
   * After the refresh scheduler has drained (beforeApplicationShutdown): destroying the agents
   * earlier cut calls Amazon had already answered, and their retries sent the same refresh
   * token twice.
   */
  onApplicationShutdown(): void {
    this.http.destroy();
  }

  /** The effective consent, token and Ads API URLs for `region`, overrides applied. */
  endpoints(region: Region): AmazonEndpoints {
    return amazonEndpointsFor(region, this.config.amazon);
  }

  /** The consent page to send the admin's browser to (authorization code grant with PKCE S256). */
  authorizationUrl(
    region: Region,
    { state, codeChallenge }: AuthorizationRequest,
  ): string {
    requireValue(state, 'state');
    if (!PKCE_VALUE.test(codeChallenge))
      throw new TypeError('codeChallenge must be a base64url S256 challenge');
    const url = new URL(this.endpoints(region).consentUrl);
    url.searchParams.set('client_id', this.config.amazon.clientId);
    url.searchParams.set('scope', LWA_SCOPE);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', this.config.amazon.redirectUri);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  /**
   * Trades the consent redirect's code for tokens. A code is single-use: if a request timed out
   * after Amazon took it, a retry gets `invalid_grant`, so interactive callers pass few retries.
   */
  async exchangeCode(
    region: Region,
    { code, codeVerifier }: CodeExchange,
    options: LwaCallOptions = {},
  ): Promise<LwaTokens> {
    requireValue(code, 'code');
    if (!PKCE_VALUE.test(codeVerifier))
      throw new TypeError(
        'codeVerifier must be a PKCE verifier (43 to 128 characters)',
      );
    const { clientId, clientSecret, redirectUri } = this.config.amazon;
    const secrets = [code, codeVerifier, clientSecret];
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: codeVerifier,
      client_id: clientId,
      client_secret: clientSecret,
    });
    return this.call(
      {
        region,
        endpoint: 'token',
        request: this.tokenRequest(region, form),
        maxContentLength: TOKEN_RESPONSE_LIMIT,
        parse: (body) => parseTokenResponse(body, true),
        errorFor: (answer, nowMs) =>
          tokenErrorFor(answer, 'authorization_code', secrets, nowMs),
      },
      options,
    );
  }

  /**
   * New access token from a refresh token. `refreshToken` in the result is set only when Amazon
   * rotated it (sent one that differs from `refreshToken`): store it then, keep the old one otherwise.
   */
  async refresh(
    region: Region,
    refreshToken: string,
    options: LwaCallOptions = {},
  ): Promise<LwaTokenSet> {
    requireValue(refreshToken, 'refreshToken');
    const { clientId, clientSecret } = this.config.amazon;
    const secrets = [refreshToken, clientSecret];
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: clientId,
      client_secret: clientSecret,
    });
    return this.call(
      {
        region,
        endpoint: 'token',
        request: this.tokenRequest(region, form),
        maxContentLength: TOKEN_RESPONSE_LIMIT,
        parse: (body) => {
          const tokens = parseTokenResponse(body, false);
          return tokens.refreshToken === refreshToken
            ? { ...tokens, refreshToken: undefined }
            : tokens;
        },
        errorFor: (answer, nowMs) =>
          tokenErrorFor(answer, 'refresh_token', secrets, nowMs),
      },
      options,
    );
  }

  /**
   * The Ads profiles the access token reaches (`GET /v2/profiles`). A 401 here is
   * {@link LwaUnauthorizedError}: the access token, not the grant, was refused.
   */
  async listProfiles(
    region: Region,
    accessToken: string,
    options: LwaCallOptions = {},
  ): Promise<AdsProfileDto[]> {
    requireValue(accessToken, 'accessToken');
    const secrets = [accessToken, this.config.amazon.clientSecret];
    return this.call(
      {
        region,
        endpoint: 'profiles',
        request: {
          method: 'GET',
          url: `${this.endpoints(region).adsApiUrl}/v2/profiles`,
          headers: {
            Accept: 'application/json',
            Authorization: `Bearer ${accessToken}`,
            'Amazon-Advertising-API-ClientId': this.config.amazon.clientId,
          },
        },
        maxContentLength: PROFILES_RESPONSE_LIMIT,
        parse: parseProfiles,
        errorFor: (answer, nowMs) =>
          adsApiErrorFor(answer, 'profiles', secrets, nowMs),
      },
      options,
    );
  }

  /**
   * The Amazon DSP advertisers an agency profile manages (`GET /dsp/advertisers` with the
   * profile as `Amazon-Advertising-API-Scope`), every page of them, each with `profileId`.
   * Errors are mapped as for {@link listProfiles}; `maxRetries` applies to each page.
   */
  async listDspAdvertisers(
    region: Region,
    accessToken: string,
    profileId: string,
    options: LwaCallOptions = {},
  ): Promise<DspAdvertiserDto[]> {
    requireValue(accessToken, 'accessToken');
    if (!PROFILE_ID.test(profileId))
      throw new TypeError('profileId must be an Ads profile id (digits)');
    const secrets = [accessToken, this.config.amazon.clientSecret];
    const byId = new Map<string, DspAdvertiserDto>();
    for (let page = 0; page < DSP_MAX_PAGES; page += 1) {
      const url = new URL(
        `${this.endpoints(region).adsApiUrl}/dsp/advertisers`,
      );
      url.searchParams.set('startIndex', String(byId.size));
      url.searchParams.set('count', String(DSP_PAGE_SIZE));
      const { advertisers, totalResults } = await this.call(
        {
          region,
          endpoint: 'dsp_advertisers',
          request: {
            method: 'GET',
            url: url.toString(),
            headers: {
              Accept: 'application/json',
              Authorization: `Bearer ${accessToken}`,
              'Amazon-Advertising-API-ClientId': this.config.amazon.clientId,
              'Amazon-Advertising-API-Scope': profileId,
            },
          },
          maxContentLength: PROFILES_RESPONSE_LIMIT,
          parse: (body) => parseDspAdvertisers(body, profileId),
          errorFor: (answer, nowMs) =>
            adsApiErrorFor(answer, 'dsp_advertisers', secrets, nowMs),
        },
        options,
      );
      const before = byId.size;
      for (const advertiser of advertisers)
        byId.set(advertiser.advertiserId, advertiser);
      // Done when every advertiser is in, or a page brought nothing new (an API that ignores
      // startIndex answers the first page again).
      if (byId.size >= totalResults || byId.size === before) break;
    }
    return [...byId.values()];
  }

  private tokenRequest(
    region: Region,
    form: URLSearchParams,
  ): HttpExchangeRequest {
    return {
      method: 'POST',
      url: this.endpoints(region).tokenUrl,
      body: form.toString(),
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8',
      },
    };
  }

  private async call<T>(
    call: AmazonCall<T>,
    options: LwaCallOptions,
  ): Promise<T> {
    const maxRetries = Math.max(
      0,
      Math.floor(options.maxRetries ?? this.config.refresh.maxRetries),
    );
    for (let retries = 0; ; retries++) {
      if (options.signal?.aborted) throw new LwaAbortedError();
      if (call.endpoint === 'token') {
        try {
          await this.pacer.take(
            options.priority ?? 'interactive',
            options.signal,
          );
        } catch {
          throw new LwaAbortedError();
        }
      }
      const started = performance.now();
      let failure: LwaError;
      let status: number | undefined;
      try {
        const answer = await this.send(call, options.signal);
        status = answer.status;
        if (answer.status >= 200 && answer.status < 300) {
          const result = call.parse(answer.body);
          this.report(call, options, {
            attempt: retries + 1,
            outcome: 'ok',
            durationMs: elapsed(started),
            status,
          });
          return result;
        }
        failure = call.errorFor(answer, this.now());
      } catch (error) {
        if (!(error instanceof LwaError)) throw error;
        failure = error;
      }

      const retry =
        failure.transient &&
        retries < maxRetries &&
        (failure.retryAfterMs ?? 0) <= this.maxRetryAfterMs;
      const delayMs = retry
        ? nextDelay(failure, retries, this.backoff)
        : undefined;
      this.report(call, options, {
        attempt: retries + 1,
        outcome: failure.kind,
        durationMs: elapsed(started),
        status: status ?? failure.upstreamStatus,
        delayMs,
      });
      if (delayMs === undefined) throw failure;
      try {
        await this.sleep(delayMs, options.signal);
      } catch {
        throw new LwaAbortedError();
      }
    }
  }

  /** One HTTP exchange; a status is an answer (mapped by the caller), a transport failure throws. */
  private async send(
    call: AmazonCall<unknown>,
    signal: AbortSignal | undefined,
  ): Promise<LwaHttpAnswer> {
    // One deadline covers the whole exchange (connect, send, the whole body) and tells a
    // timeout apart from the caller's abort.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const forwardAbort = () => controller.abort();
    signal?.addEventListener('abort', forwardAbort, { once: true });
    try {
      return await this.http.send(call.request, {
        signal: controller.signal,
        maxBodyBytes: call.maxContentLength,
      });
    } catch (error) {
      if (signal?.aborted) throw new LwaAbortedError();
      if (timedOut) throw new LwaTimeoutError(this.timeoutMs);
      // Every transport failure becomes an LwaError, which never carries the request (nor its
      // form body and secret). Anything else is a bug of ours and goes up as it is.
      throw transportErrorFor(error, this.timeoutMs) ?? error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forwardAbort);
    }
  }

  private report(
    call: AmazonCall<unknown>,
    options: LwaCallOptions,
    attempt: LwaAttempt,
  ): void {
    const status =
      attempt.status === undefined ? '' : ` HTTP ${attempt.status}`;
    const next =
      attempt.delayMs === undefined
        ? ''
        : `; retrying in ${attempt.delayMs} ms`;
    const line = `Amazon ${call.endpoint} request (${call.region}) attempt ${attempt.attempt}: ${attempt.outcome}${status} in ${attempt.durationMs} ms${next}`;
    if (attempt.outcome === 'ok') this.logger.debug(line);
    else this.logger.warn(line);
    options.onAttempt?.(attempt);
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
