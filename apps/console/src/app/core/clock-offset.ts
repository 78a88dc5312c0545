import { Injectable, signal } from '@angular/core';

/**
 * How far the server's clock is ahead of this browser's (negative: behind), in ms, from one
 * response: its `Date` header and when the request left and the response arrived here.
 *
 * `Date` is truncated to the second, so the server read its clock somewhere in
 * `[date, date + 1 s)`; on our clock that moment lies between sending and receiving, so the
 * midpoint of the round trip is the best guess. `null` when the header is missing or unparsable.
 */
export function estimateClockOffsetMs(
  dateHeader: string | null,
  sentAt: number,
  receivedAt: number,
): number | null {
  if (!dateHeader) return null;
  const serverSecond = Date.parse(dateHeader);
  if (Number.isNaN(serverSecond)) return null;
  return Math.round(serverSecond + 500 - (sentAt + receivedAt) / 2);
}

/**
 * Samples closer than this to the current offset are noise (the header's one-second
 * resolution plus network jitter); taking each of them would make countdowns jump back and forth.
 */
export const CLOCK_OFFSET_TOLERANCE_MS = 1000;

/**
 * The server's clock minus this browser's, learned from API responses, so that countdowns to
 * times the server set (token expiry) are right on a machine whose clock is off.
 */
@Injectable({ providedIn: 'root' })
export class ClockOffset {
  private readonly offset = signal(0);
  private calibrated = false;

  /** Server minus client, in ms; 0 until the first response with a `Date` header. */
  readonly offsetMs = this.offset.asReadonly();

  /** Takes one response into account (see {@link estimateClockOffsetMs}). */
  record(dateHeader: string | null, sentAt: number, receivedAt: number): void {
    const sample = estimateClockOffsetMs(dateHeader, sentAt, receivedAt);
    if (sample === null) return;
    if (
      !this.calibrated ||
      Math.abs(sample - this.offset()) > CLOCK_OFFSET_TOLERANCE_MS
    ) {
      this.offset.set(sample);
      this.calibrated = true;
    }
  }
}
