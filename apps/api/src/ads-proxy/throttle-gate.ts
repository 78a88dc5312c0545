/**
 * While Amazon throttles a profile (it answered 429), other calls for that profile wait here
 * instead of adding to the storm: every caller learns the time Amazon asked for (or the backoff
 * the keeper chose), and nobody sends for that profile before it. Per process; each replica
 * learns from its own 429s. Keys are `<region>:<profile id>` (or the connection id for calls
 * without a scope).
 */
export class ThrottleGate {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Amazon throttled `key`: nobody sends for it before `untilMs` (the later of two holds wins). */
  hold(key: string, untilMs: number): void {
    if (untilMs > (this.until.get(key) ?? 0)) this.until.set(key, untilMs);
  }

  /** Until when `key` is held (Unix ms), or undefined when it is free. */
  heldUntil(key: string): number | undefined {
    const until = this.until.get(key);
    if (until === undefined) return undefined;
    if (until <= this.now()) {
      this.until.delete(key);
      return undefined;
    }
    return until;
  }

  /** Forgets every hold (a test's clean slate). */
  clear(): void {
    this.until.clear();
  }

  /** How many keys are held right now (the throttled-profiles gauge). */
  get heldCount(): number {
    let count = 0;
    for (const key of [...this.until.keys()])
      if (this.heldUntil(key) !== undefined) count += 1;
    return count;
  }
}
