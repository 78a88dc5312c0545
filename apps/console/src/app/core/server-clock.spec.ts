import { TestBed } from '@angular/core/testing';
import { ClockOffset } from './clock-offset';
import { ServerClock } from './server-clock';

describe(ServerClock.name, () => {
  const start = Date.parse('2026-11-24T14:00:00.000Z');

  beforeEach(() => {
    jest.useFakeTimers({ now: start });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('ticks once a second', () => {
    const sut = TestBed.inject(ServerClock);
    expect(sut.now()).toBe(start);

    jest.advanceTimersByTime(999);
    expect(sut.now()).toBe(start);

    jest.advanceTimersByTime(1);
    expect(sut.now()).toBe(start + 1000);
  });

  it("reads the server's time when the server's clock is ahead", () => {
    const sut = TestBed.inject(ServerClock);

    TestBed.inject(ClockOffset).record(
      'Tue, 24 Nov 2026 14:05:00 GMT',
      start,
      start,
    );

    expect(sut.now()).toBe(start + 300_500);
  });

  it('stops ticking when the application is torn down', () => {
    TestBed.inject(ServerClock);

    TestBed.resetTestingModule();

    expect(jest.getTimerCount()).toBe(0);
  });
});
