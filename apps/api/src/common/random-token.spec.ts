import { randomToken } from './random-token';

describe('randomToken', () => {
  it('answers base64url of the asked length', () => {
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('never repeats a token, across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) seen.add(randomToken());
    expect(seen.size).toBe(10_000);
  });

  it('spreads its bytes evenly (no zeroed or reused part of the pool leaks out)', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2_000; i += 1)
      for (const byte of Buffer.from(randomToken(), 'base64url'))
        counts[byte] += 1;
    // 64,000 bytes: about 250 per value; a pool handing out zeros would pile them on 0.
    expect(Math.max(...counts)).toBeLessThan(400);
    expect(Math.min(...counts)).toBeGreaterThan(130);
  });

  it('refuses a size it cannot draw', () => {
    expect(() => randomToken(0)).toThrow(RangeError);
    expect(() => randomToken(5000)).toThrow(RangeError);
    expect(() => randomToken(1.5)).toThrow(RangeError);
  });
});
