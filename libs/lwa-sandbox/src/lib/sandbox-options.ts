import type { SandboxAccount } from './accounts';
import type { FaultEndpoint, FaultSpec, QueuedFault } from './fault-queue';
import type { RequestLogEntry, RequestLogFilter } from './request-log';
import type { SandboxClock } from './sandbox-clock';
import type { AutoConsent, SandboxSettings } from './sandbox-settings';
import type { TokenResponse } from './sandbox-authority';

/** Where the sandbox reports its own trouble (unexpected errors); `console` and pino fit. */
export interface SandboxLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** How to start the sandbox; every field has a default. */
export interface LwaSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The one registered client. Default `amzn1.application-oa2-client.sandbox`. */
  clientId?: string;
  /** Default `sandbox-client-secret`. */
  clientSecret?: string;
  /** The registered return URLs, compared byte for byte; `'any'` (default) accepts any http(s) URL. */
  redirectUris?: readonly string[] | 'any';
  /** Default 3600. */
  accessTokenLifetimeSeconds?: number;
  /** Default false: refresh responses carry no refresh token and the old one keeps working. */
  rotateRefreshTokens?: boolean;
  /** Default `'off'`: the consent page waits for a person. */
  autoConsent?: AutoConsent;
  /** Default 300 (Amazon's 5 minutes). */
  authorizationCodeLifetimeSeconds?: number;
  /** Seconds an Ads report stays PENDING. Default 0: COMPLETED at the first status read. */
  reportDelaySeconds?: number;
  /** Size of each Ads report download, bytes (2 to 1 GiB). Default 4096. */
  reportBytes?: number;
  /**
   * Every token request is answered this many milliseconds after it arrived (0 to 60000;
   * Amazon takes about 150). Default 0.
   */
  tokenDelayMs?: number;
  /** Shown on the consent page. Default `Ads Token Keeper`. */
  applicationName?: string;
  /** Largest request body accepted, in bytes. Default 65536. */
  maxBodyBytes?: number;
  /** How many requests the log keeps (oldest dropped first). Default 10000. */
  requestLogLimit?: number;
  /** Default: the system clock. */
  clock?: SandboxClock;
  /** Default: silent. */
  logger?: SandboxLogger;
  /**
   * Letters and digits (at most 32) put into every authorization code (`AN<marker>…`) and
   * token (`Atza|IwEB<marker>…`) issued, so leak tests can search logs and bodies for them.
   * Default none.
   */
  secretMarker?: string;
}

/** A token pair minted without a consent flow, and whose it is. */
export interface IssuedTokens extends TokenResponse {
  refresh_token: string;
  accountId: string;
}

/** How many grants the sandbox holds. */
export interface SandboxCounts {
  authorizationCodes: number;
  refreshTokens: number;
  accessTokens: number;
  pendingConsents: number;
  queuedFaults: number;
  /** Ads reports created and not yet forgotten. */
  reports: number;
  /** Token requests arrived and not yet answered. */
  tokenRequestsInFlight: number;
  /** The most token requests in flight at once since the start (or `clearRequests()`). */
  peakTokenRequestsInFlight: number;
}

/** The control operations; the same as the HTTP control API under `/__sandbox/`. */
export interface SandboxControl {
  settings(): SandboxSettings;
  /** Validates and applies a partial update; answers the settings now in force. */
  updateSettings(patch: Partial<SandboxSettings>): SandboxSettings;
  /** Queues a fault (validated; throws `SandboxInputError` on bad input). */
  queueFault(fault: FaultSpec): QueuedFault;
  faults(): QueuedFault[];
  /** Removes queued faults of one endpoint or of all; answers how many. */
  clearFaults(endpoint?: FaultEndpoint): number;
  /** The refresh token answers invalid_grant from now on; false when it was not live. */
  revokeRefreshToken(refreshToken: string): boolean;
  /** The access token answers 401 from now on; false when it was not live. */
  revokeAccessToken(accessToken: string): boolean;
  /** Mints a token pair for an account (sample id, any id or name; default the sample advertiser). */
  issueTokens(account?: string): IssuedTokens;
  /** The accounts the consent page offers. */
  accounts(): readonly SandboxAccount[];
  requests(filter?: RequestLogFilter): RequestLogEntry[];
  clearRequests(): void;
  /** Moves sandbox time forward (expires codes and access tokens). */
  advanceTime(seconds: number): void;
  /** Sandbox time. */
  now(): Date;
  counts(): SandboxCounts;
  /** Forgets every grant, fault, report and logged request; settings and time return to the start options. */
  reset(): void;
}

/** A sandbox listening on `url`. */
export interface RunningSandbox extends SandboxControl {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Stops listening, drops every open connection (keep-alive and held ones) and timer. */
  close(): Promise<void>;
}
