import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import { scrubString } from '../common/log-redaction';
import { BODY_TOO_LARGE, HttpTransportError } from './http-exchange';
import {
  LwaEndpointKind,
  LwaError,
  LwaForbiddenError,
  LwaGrantType,
  LwaInvalidClientError,
  LwaInvalidGrantError,
  LwaMalformedResponseError,
  LwaNetworkError,
  LwaRateLimitedError,
  LwaRequestRejectedError,
  LwaServerError,
  LwaTimeoutError,
  LwaUnauthorizedError,
} from './lwa.errors';
import { parseRetryAfter } from './retry-policy';

/** What Amazon answered, as far as this module reads it: the body stays in here. */
export interface LwaHttpAnswer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** Tokens from the LWA token endpoint; `tokenType` is always `bearer` (anything else is malformed). */
export interface LwaTokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  tokenType: 'bearer';
  expiresInSeconds: number;
}

/** Amazon issues access tokens for 3600 s; anything over a day is not an answer we understand. */
const MAX_EXPIRES_IN_SECONDS = 86_400;
const MAX_DESCRIPTION_LENGTH = 200;
const REDACTED = '[Redacted]';

/**
 * Amazon's `error_description` in a form fit for a message: values we sent (code, tokens,
 * secret) and anything shaped like an LWA token removed, control characters dropped, at most
 * 200 characters. `undefined` when there is nothing readable.
 */
export function amazonDescription(
  raw: unknown,
  secrets: readonly string[] = [],
): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let text = raw;
  for (const secret of secrets) {
    // Short values would redact ordinary words; everything we send is far longer.
    if (secret.length >= 8) text = text.split(secret).join(REDACTED);
  }
  text = scrubString(text)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return undefined;
  const characters = Array.from(text);
  return characters.length > MAX_DESCRIPTION_LENGTH
    ? `${characters.slice(0, MAX_DESCRIPTION_LENGTH - 1).join('')}…`
    : text;
}

/** An OAuth `error` or Ads API `code` worth repeating: a plain identifier, nothing else. */
function identifier(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value)
    ? value
    : undefined;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** The answers every Amazon endpoint shares, or `undefined` when the endpoint must decide. */
function sharedErrorFor(
  answer: LwaHttpAnswer,
  endpoint: LwaEndpointKind,
  nowMs: number,
): LwaError | undefined {
  const { status } = answer;
  if (status === 429)
    return new LwaRateLimitedError(parseRetryAfter(answer.retryAfter, nowMs));
  if (status >= 500)
    return new LwaServerError(
      status,
      parseRetryAfter(answer.retryAfter, nowMs),
    );
  if (status === 403)
    return new LwaForbiddenError(endpoint, { upstreamStatus: status });
  // Redirects are not followed (a token POST must not wander) and 1xx never reaches us.
  if (status < 400)
    return new LwaMalformedResponseError(`unexpected HTTP ${status}`, {
      upstreamStatus: status,
    });
  return undefined;
}

/** Maps a non-2xx answer of the LWA token endpoint to its typed error. */
export function tokenErrorFor(
  answer: LwaHttpAnswer,
  grantType: LwaGrantType,
  secrets: readonly string[],
  nowMs: number,
): LwaError {
  const shared = sharedErrorFor(answer, 'token', nowMs);
  if (shared) return shared;
  const json = parseJson(answer.body);
  const error = isRecord(json) ? json['error'] : undefined;
  const description = isRecord(json)
    ? amazonDescription(json['error_description'], secrets)
    : undefined;
  const details = { upstreamStatus: answer.status };
  if (error === 'invalid_grant')
    return new LwaInvalidGrantError(grantType, description, details);
  if (error === 'invalid_client' || error === 'unauthorized_client') {
    return new LwaInvalidClientError(error, description, details);
  }
  // RFC 6749 section 5.2: a 401 from the token endpoint is client authentication failing.
  if (answer.status === 401)
    return new LwaInvalidClientError('invalid_client', description, details);
  return new LwaRequestRejectedError(
    answer.status,
    identifier(error),
    description,
  );
}

/** Maps a non-2xx answer of the Ads API to its typed error (Ads API errors are `{ code, details }`). */
export function adsApiErrorFor(
  answer: LwaHttpAnswer,
  endpoint: Exclude<LwaEndpointKind, 'token'>,
  secrets: readonly string[],
  nowMs: number,
): LwaError {
  const shared = sharedErrorFor(answer, endpoint, nowMs);
  if (shared) return shared;
  if (answer.status === 401)
    return new LwaUnauthorizedError({ upstreamStatus: 401 });
  const json = parseJson(answer.body);
  return new LwaRequestRejectedError(
    answer.status,
    isRecord(json) ? identifier(json['code']) : undefined,
    isRecord(json) ? amazonDescription(json['details'], secrets) : undefined,
  );
}

/**
 * Reads a 200 from the token endpoint strictly: non-empty `access_token` and `token_type`
 * (`bearer`), `expires_in` a whole number of seconds from 1 to 86400, and a non-empty
 * `refresh_token` when `requireRefreshToken` (an absent or `null` one is fine otherwise).
 */
export function parseTokenResponse(
  body: string,
  requireRefreshToken: true,
): LwaTokenSet & { refreshToken: string };
export function parseTokenResponse(
  body: string,
  requireRefreshToken: false,
): LwaTokenSet;
export function parseTokenResponse(
  body: string,
  requireRefreshToken: boolean,
): LwaTokenSet {
  const malformed = (reason: string) =>
    new LwaMalformedResponseError(reason, { upstreamStatus: 200 });
  const json = parseJson(body);
  if (!isRecord(json)) throw malformed('token response is not a JSON object');
  const { access_token, refresh_token, token_type, expires_in } = json;
  if (!isNonEmptyString(access_token))
    throw malformed('access_token is missing or empty');
  if (!isNonEmptyString(token_type) || token_type.toLowerCase() !== 'bearer') {
    throw malformed('token_type is missing or not bearer');
  }
  if (
    typeof expires_in !== 'number' ||
    !Number.isInteger(expires_in) ||
    expires_in <= 0 ||
    expires_in > MAX_EXPIRES_IN_SECONDS
  ) {
    throw malformed(
      `expires_in is not a whole number of seconds from 1 to ${MAX_EXPIRES_IN_SECONDS}`,
    );
  }
  let refreshToken: string | undefined;
  if (refresh_token === undefined || refresh_token === null) {
    if (requireRefreshToken) throw malformed('refresh_token is missing');
  } else if (isNonEmptyString(refresh_token)) {
    refreshToken = refresh_token;
  } else {
    throw malformed('refresh_token is not a non-empty string');
  }
  return {
    accessToken: access_token,
    refreshToken,
    tokenType: 'bearer',
    expiresInSeconds: expires_in,
  };
}

// Profile ids reach 16 digits and more; JSON.parse would round those past 2^53. Quoting the
// digits first keeps them exact. `"profileId"` inside a JSON string is `\"profileId\"`, so
// only real keys match; a fraction or exponent fails the lookahead and stays a (rejected) number.
const PROFILE_ID_NUMBER = /("profileId"\s*:\s*)(\d+)(?=\s*[,}])/g;
const PROFILE_ID = /^(0|[1-9]\d{0,19})$/;

/** Reads a 200 from `GET /v2/profiles` strictly into {@link AdsProfileDto}s. */
export function parseProfiles(body: string): AdsProfileDto[] {
  const malformed = (reason: string) =>
    new LwaMalformedResponseError(reason, { upstreamStatus: 200 });
  const json = parseJson(body.replace(PROFILE_ID_NUMBER, '$1"$2"'));
  if (!Array.isArray(json))
    throw malformed('profiles response is not a JSON array');
  return json.map((item: unknown, index) => {
    if (!isRecord(item)) throw malformed(`profile #${index} is not an object`);
    const { profileId, countryCode, currencyCode, timezone, accountInfo } =
      item;
    if (typeof profileId !== 'string' || !PROFILE_ID.test(profileId)) {
      throw malformed(`profile #${index}: profileId is not a whole number`);
    }
    if (
      !isNonEmptyString(countryCode) ||
      !isNonEmptyString(currencyCode) ||
      !isNonEmptyString(timezone)
    ) {
      throw malformed(
        `profile #${index}: countryCode, currencyCode or timezone is missing`,
      );
    }
    if (!isRecord(accountInfo))
      throw malformed(`profile #${index}: accountInfo is missing`);
    const { marketplaceStringId, id, type, name } = accountInfo;
    if (
      !isNonEmptyString(marketplaceStringId) ||
      !isNonEmptyString(id) ||
      !isNonEmptyString(type)
    ) {
      throw malformed(
        `profile #${index}: accountInfo.marketplaceStringId, id or type is missing`,
      );
    }
    if (typeof name !== 'string')
      throw malformed(`profile #${index}: accountInfo.name is missing`);
    return {
      profileId,
      countryCode,
      currencyCode,
      timezone,
      marketplaceStringId,
      accountId: id,
      accountName: name,
      accountType: type,
    };
  });
}

/** One page of `GET /dsp/advertisers`: its advertisers, and how many there are in all. */
export interface DspAdvertiserPage {
  advertisers: DspAdvertiserDto[];
  totalResults: number;
}

// DSP advertiser ids are long digit strings; a number (should one come) is kept exact as above.
const ADVERTISER_ID_NUMBER = /("advertiserId"\s*:\s*)(\d+)(?=\s*[,}])/g;
const ADVERTISER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Reads a 200 from `GET /dsp/advertisers` strictly: `{ totalResults, response: [...] }`, each
 * advertiser with an id, a name and its country, currency and time zone (Amazon's `url` is not
 * kept). `profileId` is the agency profile the page was listed under (the scope sent).
 */
export function parseDspAdvertisers(
  body: string,
  profileId: string,
): DspAdvertiserPage {
  const malformed = (reason: string) =>
    new LwaMalformedResponseError(reason, { upstreamStatus: 200 });
  const json = parseJson(body.replace(ADVERTISER_ID_NUMBER, '$1"$2"'));
  if (!isRecord(json))
    throw malformed('DSP advertisers response is not a JSON object');
  const { totalResults, response } = json;
  if (
    typeof totalResults !== 'number' ||
    !Number.isInteger(totalResults) ||
    totalResults < 0
  )
    throw malformed('DSP advertisers: totalResults is not a whole number');
  if (!Array.isArray(response))
    throw malformed('DSP advertisers: response is not a list');
  const advertisers = response.map((item: unknown, index) => {
    if (!isRecord(item))
      throw malformed(`DSP advertiser #${index} is not an object`);
    const { advertiserId, name, country, currency, timezone } = item;
    if (typeof advertiserId !== 'string' || !ADVERTISER_ID.test(advertiserId))
      throw malformed(`DSP advertiser #${index}: advertiserId is missing`);
    if (typeof name !== 'string')
      throw malformed(`DSP advertiser #${index}: name is missing`);
    if (
      !isNonEmptyString(country) ||
      !isNonEmptyString(currency) ||
      !isNonEmptyString(timezone)
    )
      throw malformed(
        `DSP advertiser #${index}: country, currency or timezone is missing`,
      );
    return {
      advertiserId,
      name,
      countryCode: country,
      currency,
      timezone,
      profileId,
    };
  });
  return { advertisers, totalResults };
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT']);
const UNREADABLE_BODY_CODES = new Set([BODY_TOO_LARGE]);

/**
 * Maps a failed exchange that got no HTTP answer (timeout, reset, refused, DNS, a body too
 * large). Anything that is not an {@link HttpTransportError} is a bug and is rethrown by the caller.
 */
export function transportErrorFor(
  error: unknown,
  timeoutMs: number,
): LwaError | undefined {
  if (!(error instanceof HttpTransportError)) return undefined;
  const code = error.code;
  if (code && TIMEOUT_CODES.has(code)) return new LwaTimeoutError(timeoutMs);
  if (code && UNREADABLE_BODY_CODES.has(code)) {
    return new LwaMalformedResponseError(
      'response body could not be read (too large)',
    );
  }
  return new LwaNetworkError(code);
}
