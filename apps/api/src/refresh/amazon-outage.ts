import { Injectable } from '@nestjs/common';

/**
 * Whether Amazon itself seems down, as this replica sees it: attempts for two different
 * connections failed transiently and none succeeded since. One failing connection alone is its
 * own problem and keeps its backoff (30 s, 1 min … 15 min); an outage is everyone's: while it
 * lasts the sweep probes one waiting connection per tick, and the first success makes every
 * connection waiting out a backoff due at once (RefreshService), so all are refreshed within a
 * cycle or two of Amazon's return instead of up to 15 minutes later.
 */
@Injectable()
export class AmazonOutage {
  private readonly failing = new Set<string>();

  /** An attempt for this connection failed transiently (after its retries). */
  failed(connectionId: string): void {
    if (this.failing.size < 2) this.failing.add(connectionId);
  }

  /** A refresh succeeded; answers whether that ends an outage. */
  succeeded(): boolean {
    const ended = this.seemsDown;
    this.failing.clear();
    return ended;
  }

  get seemsDown(): boolean {
    return this.failing.size >= 2;
  }
}
