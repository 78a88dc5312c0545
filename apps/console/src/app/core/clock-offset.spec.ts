import { TestBed } from '@angular/core/testing';
import { ClockOffset, estimateClockOffsetMs } from './clock-offset';

describe(estimateClockOffsetMs.name, () => {
  const sentAt = Date.parse('2026-11-24T14:00:00.000Z');

  it('is about zero when both clocks agree', () => {
    // The server stamped 14:00:00 and answered within 100 ms of our 14:00:00.
    expect(
      estimateClockOffsetMs(
        'Tue, 24 Nov 2026 14:00:00 GMT',
        sentAt,
        sentAt + 100,
      ),
    ).toBe(450);
  });

  it('is positive when the server is ahead and negative when it is behind', () => {
    expect(
      estimateClockOffsetMs(
        'Tue, 24 Nov 2026 14:02:00 GMT',
        sentAt,
        sentAt + 200,
      ),
    ).toBe(120_400);
    expect(
      estimateClockOffsetMs(
        'Tue, 24 Nov 2026 13:59:00 GMT',
        sentAt,
        sentAt + 200,
      ),
    ).toBe(-59_600);
  });

  it('is null without a usable header', () => {
    expect(estimateClockOffsetMs(null, sentAt, sentAt)).toBeNull();
    expect(estimateClockOffsetMs('yesterday', sentAt, sentAt)).toBeNull();
  });
});

describe(ClockOffset.name, () => {
  const at = Date.parse('2026-11-24T14:00:00.000Z');
  let sut: ClockOffset;

  beforeEach(() => {
    sut = TestBed.inject(ClockOffset);
  });

  it('is 0 until a response says otherwise', () => {
    expect(sut.offsetMs()).toBe(0);
  });

  it('takes the first sample, then only samples that differ by more than a second', () => {
    sut.record('Tue, 24 Nov 2026 14:02:00 GMT', at, at);
    expect(sut.offsetMs()).toBe(120_500);

    sut.record('Tue, 24 Nov 2026 14:02:01 GMT', at + 300, at + 400);
    expect(sut.offsetMs()).toBe(120_500);

    sut.record('Tue, 24 Nov 2026 14:00:00 GMT', at + 1000, at + 1000);
    expect(sut.offsetMs()).toBe(-500);
  });

  it('ignores responses without a Date header', () => {
    sut.record(null, at, at);
    expect(sut.offsetMs()).toBe(0);
  });
});
