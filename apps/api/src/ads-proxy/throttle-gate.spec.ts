import { ThrottleGate } from './throttle-gate';

describe(ThrottleGate.name, () => {
  let now = 1_000_000;
  const sut = new ThrottleGate(() => now);

  it('holds a key until the later of two times, then frees it', () => {
    sut.hold('na:1', now + 5_000);
    sut.hold('na:1', now + 2_000);
    expect(sut.heldUntil('na:1')).toBe(now + 5_000);
    expect(sut.heldUntil('na:2')).toBeUndefined();
    expect(sut.heldCount).toBe(1);

    now += 5_000;
    expect(sut.heldUntil('na:1')).toBeUndefined();
    expect(sut.heldCount).toBe(0);
  });
});
