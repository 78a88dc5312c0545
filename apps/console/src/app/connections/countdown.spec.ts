import {
  formatMinutesSeconds,
  lifetimeLeft,
  secondsUntil,
  tokenCountdown,
  TOKEN_LIFETIME_SECONDS,
} from './countdown';

describe(formatMinutesSeconds.name, () => {
  it.each([
    [3600, '60:00'],
    [3599, '59:59'],
    [754, '12:34'],
    [61, '01:01'],
    [9, '00:09'],
    [0, '00:00'],
    [-5, '00:00'],
    [3665, '61:05'],
  ])('writes %i s as %s', (seconds, text) => {
    expect(formatMinutesSeconds(seconds)).toBe(text);
  });
});

describe(secondsUntil.name, () => {
  const expiresAt = '2026-11-24T15:00:00.000Z';

  it('rounds up, so the last second reads 00:01 and the expiry itself 00:00', () => {
    expect(
      secondsUntil(expiresAt, Date.parse('2026-11-24T14:59:59.100Z')),
    ).toBe(1);
    expect(
      secondsUntil(expiresAt, Date.parse('2026-11-24T15:00:00.000Z')),
    ).toBe(0);
    expect(
      secondsUntil(expiresAt, Date.parse('2026-11-24T15:00:02.000Z')),
    ).toBe(-2);
  });
});

describe(lifetimeLeft.name, () => {
  it('is the share of an hour left, between 0 and 1', () => {
    expect(TOKEN_LIFETIME_SECONDS).toBe(3600);
    expect(lifetimeLeft(3600)).toBe(1);
    expect(lifetimeLeft(1800)).toBe(0.5);
    expect(lifetimeLeft(900)).toBe(0.25);
    expect(lifetimeLeft(0)).toBe(0);
    expect(lifetimeLeft(-30)).toBe(0);
    expect(lifetimeLeft(4000)).toBe(1);
  });
});

describe(tokenCountdown.name, () => {
  const expiresAt = '2026-11-24T15:00:00.000Z';

  it('counts down to the expiry with the share of the lifetime left', () => {
    expect(
      tokenCountdown(expiresAt, Date.parse('2026-11-24T14:30:00.000Z')),
    ).toEqual({
      state: 'valid',
      text: '30:00',
      secondsLeft: 1800,
      fractionLeft: 0.5,
    });
    expect(
      tokenCountdown(expiresAt, Date.parse('2026-11-24T14:47:25.600Z')),
    ).toMatchObject({
      text: '12:35',
    });
  });

  it('never shows more than the lifetime of a token', () => {
    expect(
      tokenCountdown(expiresAt, Date.parse('2026-11-24T13:59:59.400Z')),
    ).toMatchObject({
      text: '60:00',
      fractionLeft: 1,
    });
  });

  it('is expired from the expiry on', () => {
    expect(tokenCountdown(expiresAt, Date.parse(expiresAt))).toEqual({
      state: 'expired',
    });
    expect(
      tokenCountdown(expiresAt, Date.parse('2026-11-24T16:00:00.000Z')),
    ).toEqual({
      state: 'expired',
    });
  });

  it('shows nothing without a token', () => {
    expect(tokenCountdown(null, Date.now())).toEqual({ state: 'none' });
    expect(tokenCountdown('not a time', Date.now())).toEqual({ state: 'none' });
  });

  it("counts in the server's time: a client clock 2 minutes slow reads the same once corrected", () => {
    const serverNow = Date.parse('2026-11-24T14:50:00.000Z');
    const clientNow = serverNow - 120_000;
    const offsetMs = serverNow - clientNow;

    expect(tokenCountdown(expiresAt, clientNow)).toMatchObject({
      text: '12:00',
    });
    expect(tokenCountdown(expiresAt, clientNow + offsetMs)).toMatchObject({
      text: '10:00',
    });
  });
});
