import {
  PacerClock,
  TokenRequestPacer,
  TokenRequestPriority,
} from './token-request-pacer';

/** A clock that moves only when told, firing the timers that came due, in order. */
class ManualClock implements PacerClock {
  private time = 0;
  private readonly timers = new Set<{ at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): unknown {
    const timer = { at: this.time + ms, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer: unknown): void {
    this.timers.delete(timer as { at: number; callback: () => void });
  }

  /** Moves the clock `ms` on, a millisecond at a time, letting promises settle in between. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    while (this.time < end) {
      this.time = Math.min(end, this.time + 1);
      for (const timer of [...this.timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > this.time) continue;
        this.timers.delete(timer);
        timer.callback();
      }
      await flush();
    }
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Starts `count` takes; answers which have been granted so far, in grant order. */
function takeMany(
  pacer: TokenRequestPacer,
  count: number,
  priority: TokenRequestPriority,
  granted: string[],
  signal?: AbortSignal,
): Promise<void>[] {
  return Array.from({ length: count }, (_, index) =>
    pacer.take(priority, signal).then(() => {
      granted.push(`${priority}-${index}`);
    }),
  );
}

describe(TokenRequestPacer.name, () => {
  it('lets a burst of a tenth of a second through at once, then one request every 1/rate s', async () => {
    const clock = new ManualClock();
    const pacer = new TokenRequestPacer(100, clock);
    const granted: string[] = [];
    void takeMany(pacer, 40, 'background', granted);
    await flush();
    expect(granted).toHaveLength(10);

    await clock.advance(100);
    expect(granted).toHaveLength(20);
    await clock.advance(199);
    expect(granted).toHaveLength(39);
    await clock.advance(1);
    expect(granted).toHaveLength(40);
    expect(pacer.waiting).toBe(0);
  });

  it('never grants more than the rate (plus the burst) in any second, however many ask', async () => {
    const clock = new ManualClock();
    const pacer = new TokenRequestPacer(50, clock);
    const grantedAt: number[] = [];
    for (let index = 0; index < 300; index++)
      void pacer.take('background').then(() => grantedAt.push(clock.now()));
    await clock.advance(7000);

    expect(grantedAt).toHaveLength(300);
    for (const start of grantedAt) {
      const inSecond = grantedAt.filter(
        (at) => at >= start && at < start + 1000,
      ).length;
      expect(inSecond).toBeLessThanOrEqual(50 + 5);
    }
    // 300 at 50 a second, the first 5 at once: the last after (300 - 5) / 50 s.
    expect(Math.max(...grantedAt)).toBe(5900);
  });

  it('serves a waiting job before the sweep: interactive callers first, each kind in order', async () => {
    const clock = new ManualClock();
    const pacer = new TokenRequestPacer(10, clock);
    const granted: string[] = [];
    void takeMany(pacer, 5, 'background', granted);
    await flush();
    expect(granted).toEqual(['background-0']);
    void takeMany(pacer, 2, 'interactive', granted);

    await clock.advance(300);
    expect(granted).toEqual([
      'background-0',
      'interactive-0',
      'interactive-1',
      'background-1',
    ]);
  });

  it('gives the place up when the caller aborts, rejecting with its reason', async () => {
    const clock = new ManualClock();
    const pacer = new TokenRequestPacer(10, clock);
    const granted: string[] = [];
    await pacer.take('background');
    const controller = new AbortController();
    const aborted = pacer.take('background', controller.signal);
    void takeMany(pacer, 1, 'background', granted);
    controller.abort(new Error('deadline'));

    await expect(aborted).rejects.toThrow('deadline');
    expect(pacer.waiting).toBe(1);
    await clock.advance(100);
    expect(granted).toEqual(['background-0']);
    await expect(pacer.take('interactive', controller.signal)).rejects.toThrow(
      'deadline',
    );
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenRequestPacer(0)).toThrow(RangeError);
  });
});
