import { calendarDate, exactTime, relativeTime } from './time-format';

describe(relativeTime.name, () => {
  const now = Date.parse('2026-11-24T14:00:00Z');

  it.each([
    ['2026-11-24T14:00:00Z', 'just now'],
    ['2026-11-24T13:59:15Z', 'just now'],
    ['2026-11-24T14:00:03Z', 'just now'],
    ['2026-11-24T14:00:30Z', 'in less than a minute'],
    ['2026-11-24T13:57:00Z', '3 minutes ago'],
    ['2026-11-24T14:52:10Z', 'in 52 minutes'],
    ['2026-11-24T16:00:00Z', 'in 2 hours'],
    ['2026-11-24T13:00:00Z', '1 hour ago'],
    ['2026-11-19T14:00:00Z', '5 days ago'],
  ])('says %s is %s', (time, expected) => {
    expect(relativeTime(time, now)).toBe(expected);
  });
});

describe(exactTime.name, () => {
  it('gives the date and the time to the second', () => {
    expect(exactTime('2026-11-24T14:05:09Z')).toBe('24 Nov 2026, 14:05:09');
  });
});

describe(calendarDate.name, () => {
  it('gives the day alone', () => {
    expect(calendarDate('2026-11-24T14:05:09Z')).toBe('24 Nov 2026');
  });
});
