import { Injectable } from '@nestjs/common';

/** How long refreshes stay paused before one connection is tried again as a probe. */
export const PAUSE_PROBE_AFTER_MS = 5 * 60 * 1000;

/**
 * When Amazon rejects our client credentials (`invalid_client`, `unauthorized_client`) every
 * refresh would fail the same way, so the sweep stops instead of marking connections. After a
 * while it probes with one connection; a success resumes everything. `/health/ready` shows why.
 */
@Injectable()
export class RefreshPause {
  private reasonText: string | undefined;
  private pausedAt = 0;

  pauseFor(reason: string): void {
    this.reasonText = reason;
    this.pausedAt = Date.now();
  }

  resume(): void {
    this.reasonText = undefined;
  }

  get reason(): string | undefined {
    return this.reasonText;
  }

  /** Paused, and not yet time to probe. */
  get isHolding(): boolean {
    return (
      this.reasonText !== undefined &&
      Date.now() - this.pausedAt < PAUSE_PROBE_AFTER_MS
    );
  }
}
