/** Which part of the sandbox a request reached. */
export type SandboxEndpoint =
  | 'authorize'
  | 'consent_decision'
  | 'token'
  | 'profiles'
  /** Every other Ads API path: DSP advertisers, reports, the echo. */
  | 'ads'
  /** The presigned report download (Amazon's is on S3, outside the Ads API). */
  | 'download'
  | 'not_found';

/**
 * One request the sandbox received. Secrets never appear whole: `credential` is a
 * fingerprint (a few leading characters and a hash prefix, see `fingerprint()`).
 */
export interface RequestLogEntry {
  /** Increasing sequence number. */
  id: number;
  /** Sandbox time (ISO 8601) when the request arrived. */
  receivedAt: string;
  method: string;
  /** The path without its query string (queries carry codes and state). */
  path: string;
  endpoint: SandboxEndpoint;
  /** Token endpoint: the `grant_type` sent, as far as it could be read. */
  grantType?: string;
  /** The client id presented, when one was. */
  clientId?: string;
  /** The account that consented or that the token belongs to. */
  accountId?: string;
  /** Fingerprint of the code, refresh token or access token presented. */
  credential?: string;
  /** Whether the request carried an `Authorization` header at all (the download must never see one). */
  authorizationPresent: boolean;
  /** Ads API: the `Amazon-Advertising-API-Scope` header sent, if any. */
  scope?: string;
  /** HTTP status answered; 0 when the request was never answered (timeout, reset, client gone). */
  status: number;
  /** `ok`, `consent_page`, `allowed`, `denied`, an OAuth error code, or `fault:<kind>`. */
  outcome: string;
  /** The fault that decided the answer, if any. */
  fault?: string;
  durationMs: number;
}

/** What `requests()` can be narrowed to (also the query of `GET /__sandbox/requests`). */
export interface RequestLogFilter {
  endpoint?: SandboxEndpoint;
  /** The newest `limit` entries only. */
  limit?: number;
}

/** A ring buffer: the newest `capacity` requests, oldest first. */
export class RequestLog {
  private readonly entries: (RequestLogEntry | undefined)[];
  private nextIndex = 0;
  private size = 0;
  private nextId = 1;
  /** Token requests arrived and not yet answered (or dropped), and the most there were at once. */
  private tokensInFlight = 0;
  private tokensPeak = 0;

  constructor(private readonly capacity: number) {
    this.entries = new Array<RequestLogEntry | undefined>(capacity);
  }

  append(entry: Omit<RequestLogEntry, 'id'>): void {
    this.entries[this.nextIndex] = { id: this.nextId++, ...entry };
    this.nextIndex = (this.nextIndex + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  list(filter: RequestLogFilter = {}): RequestLogEntry[] {
    const all: RequestLogEntry[] = [];
    const start = (this.nextIndex - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) {
      const entry = this.entries[(start + i) % this.capacity];
      if (
        entry &&
        (filter.endpoint === undefined || entry.endpoint === filter.endpoint)
      )
        all.push({ ...entry });
    }
    return filter.limit === undefined
      ? all
      : all.slice(Math.max(0, all.length - filter.limit));
  }

  clear(): void {
    this.entries.fill(undefined);
    this.nextIndex = 0;
    this.size = 0;
    this.tokensPeak = this.tokensInFlight;
  }

  /** A token request arrived; answers the function to call once it is answered or dropped. */
  tokenRequestStarted(): () => void {
    this.tokensInFlight += 1;
    this.tokensPeak = Math.max(this.tokensPeak, this.tokensInFlight);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.tokensInFlight -= 1;
    };
  }

  /** Token requests in flight now, and the most at once since the start or the last clear. */
  tokenRequestsInFlight(): { now: number; peak: number } {
    return { now: this.tokensInFlight, peak: this.tokensPeak };
  }
}
