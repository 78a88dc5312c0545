import { Injectable } from '@nestjs/common';

/** How long refreshes stay paused before one connection is tried again as a probe. */
export const PAUSE_PROBE_AFTER_MS = 5 * 60 * 1000;

/** A pause starting (with its reason) or ending; told once per transition, not per connection. */
export type PauseChange =
  | { paused: true; reason: string }
  | { paused: false; pausedForMs: number };

/**
 * When Amazon rejects our client credentials (`invalid_client`, `unauthorized_client`) every
 * refresh would fail the same way, so the sweep stops instead of marking connections. After a
 * while it probes with one connection; a success resumes everything. `/health/ready` shows why.
 * Listeners (the `refresh_paused` and `refresh_resumed` alerts) hear each pause start and end
 * exactly once in this process, however many connections fail or succeed meanwhile.
 */
@Injectable()
export class RefreshPause {
  private reasonText: string | undefined;
  private pausedAt = 0;
  /** When the current pause began (a probe's failure restarts `pausedAt`, not this). */
  private pauseStartedAt = 0;
  private readonly listeners: ((change: PauseChange) => void)[] = [];

  onChange(listener: (change: PauseChange) => void): void {
    this.listeners.push(listener);
  }

  pauseFor(reason: string): void {
    const starting = this.reasonText === undefined;
    this.reasonText = reason;
    this.pausedAt = Date.now();
    if (starting) {
      this.pauseStartedAt = this.pausedAt;
      this.tell({ paused: true, reason });
    }
  }

  resume(): void {
    if (this.reasonText === undefined) return;
    this.reasonText = undefined;
    this.tell({ paused: false, pausedForMs: Date.now() - this.pauseStartedAt });
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

  private tell(change: PauseChange): void {
    // A listener's failure must not fail the refresh that changed the state.
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // Alerts only queue (AlertService.notify never throws); nothing to do here.
      }
    }
  }
}
