/** Where the sandbox reads the time: inject one to expire codes and tokens without waiting. */
export interface SandboxClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: SandboxClock = { now: () => Date.now() };

/** A clock that moves only when told to, for tests. */
export class ManualClock implements SandboxClock {
  constructor(private currentMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.currentMs;
  }

  advance(ms: number): void {
    this.currentMs += ms;
  }

  set(ms: number): void {
    this.currentMs = ms;
  }
}
