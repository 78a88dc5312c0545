import { Injectable } from '@nestjs/common';
import type { LwaErrorKind } from '../amazon/lwa.errors';

/** Failures older than the longest backoff say nothing about Amazon now. */
const RECENT_MS = 15 * 60 * 1000;

/**
 * Whether Amazon itself seems down, as this replica sees it: it rate-limited us (a limit is on
 * our client, never on one account), or attempts for two different connections failed
 * transiently within the last 15 minutes (successes in between, as when it flaps, do not
 * matter). One connection failing alone is its own problem and keeps its backoff (30 s, 1 min …
 * 15 min). An outage is everyone's: while it lasts the sweep probes one waiting connection per
 * tick, and the first success makes every connection waiting out a backoff due at once
 * (RefreshService), so all are refreshed within a cycle or two of Amazon's return instead of up
 * to 15 minutes later.
 */
@Injectable()
export class AmazonOutage {
  /** Connection id → when its attempt last failed; the two most recent only. */
  private readonly failing = new Map<string, number>();
  private rateLimited = false;

  /** An attempt for this connection failed transiently (after its retries), and the row says so. */
  failed(connectionId: string, kind: LwaErrorKind): void {
    if (kind === 'rate_limited') this.rateLimited = true;
    this.failing.delete(connectionId);
    this.failing.set(connectionId, Date.now());
    if (this.failing.size > 2)
      this.failing.delete(this.failing.keys().next().value as string);
  }

  /** A refresh of this connection succeeded; answers whether that ends an outage. */
  succeeded(connectionId: string): boolean {
    if (!this.seemsDown) {
      this.failing.delete(connectionId);
      return false;
    }
    this.clear();
    return true;
  }

  get seemsDown(): boolean {
    if (this.rateLimited) return true;
    const since = Date.now() - RECENT_MS;
    return [...this.failing.values()].filter((at) => at >= since).length >= 2;
  }

  /** Forgets every failure seen. */
  clear(): void {
    this.failing.clear();
    this.rateLimited = false;
  }
}
