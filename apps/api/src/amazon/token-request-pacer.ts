/**
 * Who is waiting for a token request: a job or an admin (`interactive`, served first) or the
 * sweep (`background`). A job waiting for its token never queues behind the sweep's backlog.
 */
export type TokenRequestPriority = 'interactive' | 'background';

/** The time a pacer reads and the timer it sets; tests give a manual one. */
export interface PacerClock {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const SYSTEM_PACER_CLOCK: PacerClock = {
  now: () => performance.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

interface Waiter {
  priority: TokenRequestPriority;
  resolve(): void;
  reject(reason: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * At most `perSecond` token requests a second (per replica), with a burst of a tenth of a
 * second's worth: a token bucket. A caller takes one permit before each request to Login with
 * Amazon (retries too); when none is left it waits, interactive callers before background ones,
 * each in the order they came. The pacer only ever slows requests down: the backoff, `Retry-After`
 * and outage rules (LwaClient, RefreshService) apply on top of it as before.
 */
export class TokenRequestPacer {
  private readonly burst: number;
  private readonly msPerPermit: number;
  private permits: number;
  private refilledAt: number;
  private readonly interactive: Waiter[] = [];
  private readonly background: Waiter[] = [];
  private timer: unknown;

  constructor(
    readonly perSecond: number,
    private readonly clock: PacerClock = SYSTEM_PACER_CLOCK,
  ) {
    if (!Number.isFinite(perSecond) || perSecond <= 0)
      throw new RangeError('perSecond must be a positive number');
    this.burst = Math.max(1, Math.floor(perSecond / 10));
    this.msPerPermit = 1000 / perSecond;
    this.permits = this.burst;
    this.refilledAt = clock.now();
  }

  /** Callers waiting for a permit now. */
  get waiting(): number {
    return this.interactive.length + this.background.length;
  }

  /**
   * Resolves when the caller may send one token request. Rejects with the signal's reason when
   * it aborts first (the waiter gives its place up).
   */
  take(priority: TokenRequestPriority, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.refill();
    if (this.waiting === 0 && this.permits >= 1) {
      this.permits -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { priority, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          this.remove(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      (priority === 'interactive' ? this.interactive : this.background).push(
        waiter,
      );
      this.schedule();
    });
  }

  private refill(): void {
    const now = this.clock.now();
    this.permits = Math.min(
      this.burst,
      this.permits + (now - this.refilledAt) / this.msPerPermit,
    );
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.waiting === 0) return;
    const ms = Math.max(0, (1 - this.permits) * this.msPerPermit);
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.release();
    }, ms);
  }

  private release(): void {
    this.refill();
    while (this.permits >= 1 && this.waiting > 0) {
      const waiter = (
        this.interactive.length > 0 ? this.interactive : this.background
      ).shift() as Waiter;
      if (waiter.onAbort)
        waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.permits -= 1;
      waiter.resolve();
    }
    this.schedule();
  }

  private remove(waiter: Waiter): void {
    const queue =
      waiter.priority === 'interactive' ? this.interactive : this.background;
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    if (this.waiting === 0 && this.timer !== undefined) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }
}
