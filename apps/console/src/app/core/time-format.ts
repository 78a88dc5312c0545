const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const CLOCK_NOISE_MS = 5000;

const calendar = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'always' });
const exact = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'medium',
});

/**
 * `time` relative to `now` in words: "just now", "3 minutes ago", "in 52 minutes",
 * "in 2 hours", "5 days ago".
 */
export function relativeTime(time: string | number, now: number): string {
  const at = typeof time === 'number' ? time : Date.parse(time);
  const diff = at - now;
  const size = Math.abs(diff);
  // A few seconds ahead is clock noise (the shared clock ticks once a second, the offset is an
  // estimate): an event that just happened must not read "in less than a minute".
  if (size < MINUTE) {
    return diff <= CLOCK_NOISE_MS ? 'just now' : 'in less than a minute';
  }
  const sign = Math.sign(diff);
  if (size < HOUR)
    return relative.format(sign * Math.floor(size / MINUTE), 'minute');
  if (size < DAY)
    return relative.format(sign * Math.floor(size / HOUR), 'hour');
  return relative.format(sign * Math.floor(size / DAY), 'day');
}

/** The exact time in this browser's time zone: "24 Nov 2026, 14:00:00". */
export function exactTime(time: string | number): string {
  return exact.format(new Date(time));
}

/** The day alone in this browser's time zone: "24 Nov 2026". */
export function calendarDate(time: string | number): string {
  return calendar.format(new Date(time));
}
