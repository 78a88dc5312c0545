import {
  constantTimeEqual,
  isValidCodeVerifier,
  isValidS256Challenge,
  newAccessToken,
  newAuthorizationCode,
  newOpaqueId,
  newRefreshToken,
  s256CodeChallenge,
} from './credentials';
import { DEFAULT_ACCOUNT, SandboxAccount } from './accounts';
import {
  INVALID_CLIENT,
  invalidGrant,
  missingParameter,
  OAuthError,
  OAuthErrorCode,
} from './oauth-error';
import { SandboxClock } from './sandbox-clock';
import { SandboxSettings } from './sandbox-settings';

/** The scope the Amazon Ads API needs; the others are LWA profile scopes Amazon also accepts. */
export const ADS_SCOPE = 'advertising::campaign_management';
const KNOWN_SCOPES = new Set([
  ADS_SCOPE,
  'profile',
  'profile:user_id',
  'postal_code',
]);
const MAX_PARAMETER_LENGTH = 2048;
const CONSENT_LIFETIME_MS = 10 * 60 * 1000;
const MAX_PENDING_CONSENTS = 100_000;
// About 150 MB of live access tokens; beyond it the oldest go first, so a long benchmark
// (10,000 refreshes a minute with 1-hour tokens is 600,000) cannot exhaust memory.
const MAX_LIVE_ACCESS_TOKENS = 500_000;

/** A consent request that passed validation. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | undefined;
  codeChallenge: string;
}

export type AuthorizationValidation =
  | { outcome: 'valid'; request: AuthorizationRequest }
  /** The client or redirect URI cannot be trusted: show an error page, never redirect. */
  | {
      outcome: 'error_page';
      reason: 'invalid_client' | 'invalid_redirect_uri';
      message: string;
    }
  /** The redirect URI is trusted: send the error back to it. */
  | {
      outcome: 'redirect_error';
      redirectUri: string;
      state: string | undefined;
      error: OAuthErrorCode;
      description: string;
    };

/** The JSON body of a successful token response, exactly as Amazon shapes it. */
export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: 'bearer';
  expires_in: number;
}

export type TokenResult =
  | { ok: true; body: TokenResponse; account: SandboxAccount }
  | { ok: false; error: OAuthError; account?: SandboxAccount };

export interface AccessGrant {
  clientId: string;
  account: SandboxAccount;
  expiresAt: number;
}

interface CodeGrant {
  request: AuthorizationRequest;
  account: SandboxAccount;
  expiresAt: number;
  redeemed?: { accessToken: string; refreshToken: string };
}

interface RefreshGrant {
  clientId: string;
  account: SandboxAccount;
}

interface PendingConsent {
  request: AuthorizationRequest;
  expiresAt: number;
}

export interface AuthorityConfig {
  clientId: string;
  clientSecret: string;
  redirectUris: readonly string[] | 'any';
  clock: SandboxClock;
  /** Put into every code and token issued (leak tests); '' for none. */
  secretMarker?: string;
}

function singleParameter(
  params: URLSearchParams,
  name: string,
): string | undefined | null {
  const values = params.getAll(name);
  if (values.length > 1) return null;
  return values[0];
}

function isAcceptableRedirectUri(value: string): boolean {
  if (value.length > MAX_PARAMETER_LENGTH || value.includes('#')) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Login with Amazon's rules, without HTTP: who may ask for consent, what a code is worth,
 * when a refresh token stops working. State lives in Maps and dies with the process.
 */
export class SandboxAuthority {
  private readonly codes = new Map<string, CodeGrant>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  private readonly accessTokens = new Map<string, AccessGrant>();
  private readonly consents = new Map<string, PendingConsent>();
  private offsetMs = 0;

  constructor(
    private readonly config: AuthorityConfig,
    public settings: SandboxSettings,
  ) {}

  /** Sandbox time: the injected clock plus whatever `advanceTime` added. */
  now(): number {
    return this.config.clock.now() + this.offsetMs;
  }

  advanceTime(ms: number): void {
    this.offsetMs += ms;
  }

  isRegisteredClient(clientId: string): boolean {
    return clientId === this.config.clientId;
  }

  /** Client authentication: the id must be ours and the secret must match, compared in constant time. */
  authenticateClient(
    clientId: string,
    clientSecret: string,
  ): OAuthError | undefined {
    const secretMatches = constantTimeEqual(
      clientSecret,
      this.config.clientSecret,
    );
    return clientId === this.config.clientId && secretMatches
      ? undefined
      : INVALID_CLIENT;
  }

  isRegisteredRedirectUri(redirectUri: string): boolean {
    if (!isAcceptableRedirectUri(redirectUri)) return false;
    return (
      this.config.redirectUris === 'any' ||
      this.config.redirectUris.includes(redirectUri)
    );
  }

  /** RFC 6749 4.1.2.1: errors about the client or redirect URI are shown, all others redirected. */
  validateAuthorizationRequest(
    params: URLSearchParams,
  ): AuthorizationValidation {
    const clientId = singleParameter(params, 'client_id');
    if (!clientId || !this.isRegisteredClient(clientId)) {
      return {
        outcome: 'error_page',
        reason: 'invalid_client',
        message:
          'The application (client_id) is not registered with Login with Amazon.',
      };
    }
    const redirectUri = singleParameter(params, 'redirect_uri');
    if (!redirectUri || !this.isRegisteredRedirectUri(redirectUri)) {
      return {
        outcome: 'error_page',
        reason: 'invalid_redirect_uri',
        message:
          'The redirect_uri is missing or is not one of the application\u2019s registered return URLs.',
      };
    }
    const stateValue = singleParameter(params, 'state');
    const state = stateValue ?? undefined;
    const fail = (
      error: OAuthErrorCode,
      description: string,
    ): AuthorizationValidation => ({
      outcome: 'redirect_error',
      redirectUri,
      state,
      error,
      description,
    });
    for (const name of [
      'client_id',
      'redirect_uri',
      'state',
      'scope',
      'response_type',
      'code_challenge',
      'code_challenge_method',
    ]) {
      const values = params.getAll(name);
      if (values.length > 1)
        return fail(
          'invalid_request',
          `The parameter ${name} appears more than once`,
        );
      if ((values[0]?.length ?? 0) > MAX_PARAMETER_LENGTH)
        return fail('invalid_request', `The parameter ${name} is too long`);
    }
    const responseType = params.get('response_type');
    if (!responseType)
      return fail(
        'invalid_request',
        'The request is missing a required parameter : response_type',
      );
    if (responseType !== 'code')
      return fail(
        'unsupported_response_type',
        'Only response_type=code is supported',
      );
    const scope = params.get('scope');
    if (!scope)
      return fail(
        'invalid_scope',
        'The request is missing a required parameter : scope',
      );
    const scopes = scope.split(' ');
    const unknown = scopes.find((each) => !KNOWN_SCOPES.has(each));
    if (unknown !== undefined)
      return fail(
        'invalid_scope',
        `An unknown scope was requested: ${unknown.slice(0, 80)}`,
      );
    const codeChallenge = params.get('code_challenge');
    const method = params.get('code_challenge_method');
    if (!codeChallenge)
      return fail(
        'invalid_request',
        'The request is missing a required parameter : code_challenge',
      );
    if (method !== 'S256')
      return fail('invalid_request', 'code_challenge_method must be S256');
    if (!isValidS256Challenge(codeChallenge)) {
      return fail(
        'invalid_request',
        'code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)',
      );
    }
    return {
      outcome: 'valid',
      request: { clientId, redirectUri, scope, state, codeChallenge },
    };
  }

  /** Remembers a consent page so its form can refer to it without trusting hidden fields. */
  openConsent(request: AuthorizationRequest): string {
    if (this.consents.size >= MAX_PENDING_CONSENTS) {
      const oldest = this.consents.keys().next().value;
      if (oldest !== undefined) this.consents.delete(oldest);
    }
    const id = newOpaqueId();
    this.consents.set(id, {
      request,
      expiresAt: this.now() + CONSENT_LIFETIME_MS,
    });
    return id;
  }

  /** The request behind a consent form, while it is open (10 minutes, until decided). */
  findConsent(id: string): AuthorizationRequest | undefined {
    const consent = this.consents.get(id);
    if (!consent) return undefined;
    if (consent.expiresAt <= this.now()) {
      this.consents.delete(id);
      return undefined;
    }
    return consent.request;
  }

  /** Each consent can be decided once. */
  closeConsent(id: string): void {
    this.consents.delete(id);
  }

  issueCode(request: AuthorizationRequest, account: SandboxAccount): string {
    const code = newAuthorizationCode(this.config.secretMarker);
    this.codes.set(code, {
      request,
      account,
      expiresAt:
        this.now() + this.settings.authorizationCodeLifetimeSeconds * 1000,
    });
    return code;
  }

  /** `grant_type=authorization_code` after client authentication. */
  exchangeCode(clientId: string, params: URLSearchParams): TokenResult {
    const code = params.get('code');
    const redirectUri = params.get('redirect_uri');
    const codeVerifier = params.get('code_verifier');
    if (!code) return { ok: false, error: missingParameter('code') };
    if (!redirectUri)
      return { ok: false, error: missingParameter('redirect_uri') };
    const grant = this.codes.get(code);
    if (!grant || grant.request.clientId !== clientId) {
      return {
        ok: false,
        error: invalidGrant('code', 'The authorization code is unknown.'),
      };
    }
    const account = grant.account;
    if (grant.expiresAt <= this.now()) {
      this.codes.delete(code);
      return {
        ok: false,
        account,
        error: invalidGrant('code', 'The authorization code has expired.'),
      };
    }
    if (grant.redeemed) {
      // RFC 6749 4.1.2: a code presented twice may have been stolen, so what it bought is revoked.
      this.accessTokens.delete(grant.redeemed.accessToken);
      this.refreshTokens.delete(grant.redeemed.refreshToken);
      return {
        ok: false,
        account,
        error: invalidGrant(
          'code',
          'The authorization code has already been used; the tokens issued for it are revoked.',
        ),
      };
    }
    if (redirectUri !== grant.request.redirectUri) {
      return {
        ok: false,
        account,
        error: invalidGrant(
          'redirect_uri',
          'It must equal the redirect_uri of the consent request.',
        ),
      };
    }
    if (!codeVerifier)
      return { ok: false, account, error: missingParameter('code_verifier') };
    if (
      !isValidCodeVerifier(codeVerifier) ||
      !constantTimeEqual(
        s256CodeChallenge(codeVerifier),
        grant.request.codeChallenge,
      )
    ) {
      return {
        ok: false,
        account,
        error: invalidGrant(
          'code_verifier',
          'It does not match the code_challenge.',
        ),
      };
    }
    const body = this.issueTokens(clientId, account);
    grant.redeemed = {
      accessToken: body.access_token,
      refreshToken: body.refresh_token as string,
    };
    return { ok: true, body, account };
  }

  /** `grant_type=refresh_token` after client authentication. */
  refresh(clientId: string, params: URLSearchParams): TokenResult {
    const refreshToken = params.get('refresh_token');
    if (!refreshToken)
      return { ok: false, error: missingParameter('refresh_token') };
    const grant = this.refreshTokens.get(refreshToken);
    if (!grant || grant.clientId !== clientId) {
      return {
        ok: false,
        error: invalidGrant(
          'refresh_token',
          'The refresh token is unknown, revoked or was replaced.',
        ),
      };
    }
    const accessToken = newAccessToken(this.config.secretMarker);
    const expiresIn = this.settings.accessTokenLifetimeSeconds;
    this.storeAccessToken(accessToken, {
      clientId,
      account: grant.account,
      expiresAt: this.now() + expiresIn * 1000,
    });
    const body: TokenResponse = {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: expiresIn,
    };
    if (this.settings.rotateRefreshTokens) {
      this.refreshTokens.delete(refreshToken);
      const next = newRefreshToken(this.config.secretMarker);
      this.refreshTokens.set(next, grant);
      // Field order as Amazon sends it.
      return {
        ok: true,
        account: grant.account,
        body: {
          access_token: accessToken,
          refresh_token: next,
          token_type: 'bearer',
          expires_in: expiresIn,
        },
      };
    }
    return { ok: true, body, account: grant.account };
  }

  /** A fresh access and refresh token pair, as if the account had just consented. */
  issueTokens(
    clientId: string,
    account: SandboxAccount = DEFAULT_ACCOUNT,
  ): TokenResponse {
    const accessToken = newAccessToken(this.config.secretMarker);
    const refreshToken = newRefreshToken(this.config.secretMarker);
    const expiresIn = this.settings.accessTokenLifetimeSeconds;
    this.storeAccessToken(accessToken, {
      clientId,
      account,
      expiresAt: this.now() + expiresIn * 1000,
    });
    this.refreshTokens.set(refreshToken, { clientId, account });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: expiresIn,
    };
  }

  private storeAccessToken(accessToken: string, grant: AccessGrant): void {
    if (this.accessTokens.size >= MAX_LIVE_ACCESS_TOKENS) {
      const oldest = this.accessTokens.keys().next().value;
      if (oldest !== undefined) this.accessTokens.delete(oldest);
    }
    this.accessTokens.set(accessToken, grant);
  }

  /** The grant behind a live access token; undefined when unknown, revoked or expired. */
  findAccessToken(accessToken: string): AccessGrant | undefined {
    const grant = this.accessTokens.get(accessToken);
    if (!grant) return undefined;
    if (grant.expiresAt <= this.now()) {
      this.accessTokens.delete(accessToken);
      return undefined;
    }
    return grant;
  }

  accountOfRefreshToken(refreshToken: string): SandboxAccount | undefined {
    return this.refreshTokens.get(refreshToken)?.account;
  }

  revokeRefreshToken(refreshToken: string): boolean {
    return this.refreshTokens.delete(refreshToken);
  }

  revokeAccessToken(accessToken: string): boolean {
    return this.accessTokens.delete(accessToken);
  }

  /** Drops what can no longer be used, so long benchmarks do not grow the maps without bound. */
  prune(): void {
    const now = this.now();
    for (const [code, grant] of this.codes)
      if (grant.expiresAt <= now) this.codes.delete(code);
    for (const [id, consent] of this.consents)
      if (consent.expiresAt <= now) this.consents.delete(id);
    for (const [token, grant] of this.accessTokens)
      if (grant.expiresAt <= now) this.accessTokens.delete(token);
  }

  counts(): {
    authorizationCodes: number;
    refreshTokens: number;
    accessTokens: number;
    pendingConsents: number;
  } {
    return {
      authorizationCodes: this.codes.size,
      refreshTokens: this.refreshTokens.size,
      accessTokens: this.accessTokens.size,
      pendingConsents: this.consents.size,
    };
  }

  reset(settings: SandboxSettings): void {
    this.codes.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.consents.clear();
    this.offsetMs = 0;
    this.settings = settings;
  }
}
